//! in-toto attestations of a manifest: [`statement`] writes a manifest as an in-toto
//! Statement v1 (what `snapshot --format in-toto` prints), and [`unwrap_statement`]
//! takes the manifest back out of a Statement, a DSSE envelope or a Sigstore bundle.
//! Pure data in, data out: reading files is `load.rs`'s.

use std::borrow::Cow;

use serde_json::Value;
use serde_json::value::RawValue;

use crate::digest::Digest;
use crate::model::manifest::Manifest;
use crate::model::running::recorded_repository;

/// The in-toto Statement type this version writes and reads.
pub const IN_TOTO_STATEMENT: &str = "https://in-toto.io/Statement/v1";
/// The predicate type of a statement whose predicate is a buildproof manifest.
pub const PREDICATE_TYPE: &str = "https://buildproof.dev/manifest/v1";
/// DSSE's payload type for in-toto statements.
const DSSE_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// The fields of an attestation that say what it is; everything else is skipped
/// unparsed, and the predicate is kept as its raw text (a large manifest is parsed
/// once, into its own types, never into a generic JSON tree).
#[derive(serde::Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "dsseEnvelope", borrow, default)]
    dsse_envelope: Option<&'a RawValue>,
    #[serde(rename = "payloadType", default)]
    payload_type: Option<Value>,
    #[serde(default)]
    payload: Option<Value>,
    #[serde(rename = "_type", default)]
    statement_type: Option<Value>,
    #[serde(rename = "predicateType", default)]
    predicate_type: Option<Value>,
    #[serde(borrow, default)]
    predicate: Option<&'a RawValue>,
}

/// The manifest JSON inside an attestation, or `bytes` themselves when they are not
/// one. Accepts an in-toto Statement (v1, or the v0.1 that older tooling writes)
/// whose predicate type is [`PREDICATE_TYPE`]; a DSSE envelope carrying one (`cosign
/// attest`, `in-toto-run` and most signers write these); and a Sigstore bundle's
/// `dsseEnvelope` (GitHub's `actions/attest`). Signatures are not checked here:
/// verify them with the signer's tooling (`cosign verify-attestation`, `gh
/// attestation verify`) before trusting the content.
pub fn unwrap_statement(bytes: &[u8]) -> Result<Cow<'_, [u8]>, String> {
    unwrap_at(bytes, 0)
}

fn unwrap_at(bytes: &[u8], depth: usize) -> Result<Cow<'_, [u8]>, String> {
    use base64::Engine as _;

    let e: Envelope<'_> =
        serde_json::from_slice(bytes).map_err(|e| format!("invalid JSON: {e}"))?;
    if let Some(envelope) = e.dsse_envelope {
        if depth > 0 {
            return Err("a DSSE envelope nested in another".to_owned());
        }
        return match unwrap_at(envelope.get().as_bytes(), depth + 1)? {
            Cow::Borrowed(inner) => Ok(Cow::Owned(inner.to_vec())),
            Cow::Owned(inner) => Ok(Cow::Owned(inner)),
        };
    }
    if let Some(payload_type) = e.payload_type {
        if payload_type.as_str() != Some(DSSE_PAYLOAD_TYPE) {
            return Err(format!(
                "a DSSE envelope of payload type {payload_type}, not `{DSSE_PAYLOAD_TYPE}`"
            ));
        }
        if depth > 1 {
            return Err("a DSSE envelope nested in another".to_owned());
        }
        let payload = e
            .payload
            .as_ref()
            .and_then(Value::as_str)
            .ok_or("a DSSE envelope without a `payload`")?;
        let inner = base64::engine::general_purpose::STANDARD
            .decode(payload)
            .map_err(|e| format!("a DSSE envelope whose payload is not base64: {e}"))?;
        let probe: Envelope<'_> = serde_json::from_slice(&inner)
            .map_err(|e| format!("a DSSE envelope whose payload is not JSON: {e}"))?;
        if probe.payload_type.is_some() || probe.dsse_envelope.is_some() {
            return Err("a DSSE envelope nested in another".to_owned());
        }
        return Ok(Cow::Owned(unwrap_at(&inner, depth + 2)?.into_owned()));
    }
    let Some(statement_type) = e.statement_type else {
        return Ok(Cow::Borrowed(bytes));
    };
    let statement_type = statement_type.as_str().unwrap_or_default();
    if !statement_type.starts_with("https://in-toto.io/Statement/") {
        return Err(format!(
            "`_type` is `{statement_type}`, not an in-toto statement (`{IN_TOTO_STATEMENT}`)"
        ));
    }
    let predicate_type = e
        .predicate_type
        .as_ref()
        .and_then(Value::as_str)
        .unwrap_or_default();
    if predicate_type != PREDICATE_TYPE {
        return Err(format!(
            "an in-toto statement of predicate type `{predicate_type}`; buildproof reads `{PREDICATE_TYPE}` (a statement written by `buildproof snapshot --format in-toto`)"
        ));
    }
    e.predicate
        .map(|p| Cow::Borrowed(p.get().as_bytes()))
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
