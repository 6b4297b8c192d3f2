//! in-toto attestations of a manifest: [`statement`] writes a manifest as an in-toto
//! Statement v1 (what `snapshot --format in-toto` prints), and [`unwrap_statement`]
//! takes the manifest back out of a Statement, a DSSE envelope or a Sigstore bundle.
//! Pure data in, data out: reading files is `load.rs`'s.

use crate::digest::Digest;
use crate::model::manifest::Manifest;
use crate::model::running::recorded_repository;

/// The in-toto Statement type this version writes and reads.
pub const IN_TOTO_STATEMENT: &str = "https://in-toto.io/Statement/v1";
/// The predicate type of a statement whose predicate is a buildproof manifest.
pub const PREDICATE_TYPE: &str = "https://buildproof.dev/manifest/v1";
/// DSSE's payload type for in-toto statements.
const DSSE_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// The manifest inside an attestation, or `value` itself when it is not one. Accepts
/// an in-toto Statement (v1, or the v0.1 that older tooling writes) whose predicate
/// type is [`PREDICATE_TYPE`]; a DSSE envelope carrying one (`cosign attest`,
/// `in-toto-run` and most signers write these); and a Sigstore bundle's
/// `dsseEnvelope` (GitHub's `actions/attest`). Signatures are not checked here:
/// verify them with the signer's tooling (`cosign verify-attestation`, `gh
/// attestation verify`) before trusting the content.
pub fn unwrap_statement(value: serde_json::Value) -> Result<serde_json::Value, String> {
    use base64::Engine as _;
    use serde_json::Value;

    let value = match value.get("dsseEnvelope") {
        Some(envelope) => envelope.clone(),
        None => value,
    };
    if let Some(payload_type) = value.get("payloadType") {
        if payload_type.as_str() != Some(DSSE_PAYLOAD_TYPE) {
            return Err(format!(
                "a DSSE envelope of payload type {payload_type}, not `{DSSE_PAYLOAD_TYPE}`"
            ));
        }
        let payload = value
            .get("payload")
            .and_then(Value::as_str)
            .ok_or("a DSSE envelope without a `payload`")?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(payload)
            .map_err(|e| format!("a DSSE envelope whose payload is not base64: {e}"))?;
        let inner: Value = serde_json::from_slice(&bytes)
            .map_err(|e| format!("a DSSE envelope whose payload is not JSON: {e}"))?;
        if inner.get("payloadType").is_some() || inner.get("dsseEnvelope").is_some() {
            return Err("a DSSE envelope nested in another".to_owned());
        }
        return unwrap_statement(inner);
    }
    let Some(statement_type) = value.get("_type") else {
        return Ok(value);
    };
    let statement_type = statement_type.as_str().unwrap_or_default();
    if !statement_type.starts_with("https://in-toto.io/Statement/") {
        return Err(format!(
            "`_type` is `{statement_type}`, not an in-toto statement (`{IN_TOTO_STATEMENT}`)"
        ));
    }
    let predicate_type = value
        .get("predicateType")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if predicate_type != PREDICATE_TYPE {
        return Err(format!(
            "an in-toto statement of predicate type `{predicate_type}`; buildproof reads `{PREDICATE_TYPE}` (a statement written by `buildproof snapshot --format in-toto`)"
        ));
    }
    value
        .get("predicate")
        .cloned()
        .ok_or_else(|| "an in-toto statement without a `predicate`".to_owned())
}

/// An in-toto Statement v1 (<https://in-toto.io/Statement/v1>, the attestation
/// framework's `spec/v1/statement.md`) whose predicate is the manifest, so existing
/// tooling can sign (`cosign attest-blob --type …`, DSSE) and store it.
///
/// Subjects are the artifacts, each with a name unique in the statement and a
/// `sha256` digest:
/// - an output: `<component>/<path>`, the SHA-256 of the file; for a directory or
///   store path, of its NAR serialisation (`nix hash path --base16`, or
///   `nix-store --dump PATH | sha256sum`), the only well-known serialisation of a tree;
/// - an image: its repository (`registry.example.com/web`, what attestation
///   tooling keys images by) or `<component>/image` when the image records no name,
///   with the manifest digest (what registries and `cosign` address it by).
pub fn statement(manifest: &Manifest) -> serde_json::Result<Vec<u8>> {
    let mut subjects = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    let mut push = |name: String, digest: &Digest| {
        // `name` SHOULD be unique within `subject`; a repeat gets a numbered suffix.
        let mut unique = name.clone();
        let mut n = 1;
        while !names.insert(unique.clone()) {
            n += 1;
            unique = format!("{name}#{n}");
        }
        subjects.push(serde_json::json!({"name": unique, "digest": {"sha256": digest.hex()}}));
    };
    for (name, c) in &manifest.components {
        for o in &c.outputs {
            push(format!("{name}/{}", o.path), &o.digest);
        }
        if let Some(image) = &c.image {
            // A recorded name may be a bare tag (`latest`): that names no repository.
            let repository = image.names.iter().find_map(|n| recorded_repository(n));
            push(
                repository.unwrap_or_else(|| format!("{name}/image")),
                &image.manifest_digest,
            );
        }
    }
    let statement = serde_json::json!({
        "_type": IN_TOTO_STATEMENT,
        "subject": subjects,
        "predicateType": PREDICATE_TYPE,
        "predicate": manifest,
    });
    let mut out = serde_json::to_vec_pretty(&statement)?;
    out.push(b'\n');
    Ok(out)
}
