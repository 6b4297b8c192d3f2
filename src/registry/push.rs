//! Writing to a registry and listing: monolithic blob upload (`POST` then `PUT
//! ?digest=`), manifest `PUT`, tag lists, and the OCI 1.1 referrers list (kept in
//! `artifact.rs`, with the `sha256-<hex>` tag fallback for registries that lack it).

use std::collections::BTreeMap;

use serde::Deserialize;
use ureq::http::Method;

use super::client::{Req, read_small, resolve};
use super::error::server_message;
use super::{Client, MAX_MANIFEST, Reference, RegistryError};
use crate::digest::Digest;

/// One entry of a referrers list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Referrer {
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    #[serde(rename = "artifactType", default)]
    pub artifact_type: Option<String>,
    pub digest: String,
    pub size: u64,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

pub(super) fn status_err(
    reference: &Reference,
    what: String,
    resp: ureq::http::Response<ureq::Body>,
) -> RegistryError {
    let status = resp.status().as_u16();
    let message = server_message(&read_small(resp));
    if status == 404 {
        RegistryError::NotFound {
            host: reference.registry.clone(),
            what,
            message,
        }
    } else {
        RegistryError::Status {
            host: reference.registry.clone(),
            what,
            status,
            message,
        }
    }
}

impl Client {
    /// Whether the repository has blob `digest` (`HEAD`).
    pub fn has_blob(&self, reference: &Reference, digest: &Digest) -> Result<bool, RegistryError> {
        let req = Req {
            method: Method::HEAD,
            reference,
            path: format!("/v2/{}/blobs/{digest}", reference.repository),
            headers: Vec::new(),
            body: None,
            actions: "pull",
            what: digest.to_string(),
        };
        let resp = self.send(&req)?;
        match resp.status().as_u16() {
            200 => Ok(true),
            404 => Ok(false),
            _ => Err(status_err(reference, digest.to_string(), resp)),
        }
    }

    /// Uploads `data` as one blob (monolithic: `POST` for a location, then `PUT`
    /// with `?digest=`), unless the repository has it already. Returns its digest.
    pub fn put_blob(&self, reference: &Reference, data: &[u8]) -> Result<Digest, RegistryError> {
        let digest = Digest::of(data);
        if self.has_blob(reference, &digest)? {
            return Ok(digest);
        }
        let what = format!("upload of {digest}");
        let post = Req {
            method: Method::POST,
            reference,
            path: format!("/v2/{}/blobs/uploads/", reference.repository),
            headers: vec![("content-length", "0".to_owned())],
            body: None,
            actions: "pull,push",
            what: what.clone(),
        };
        let resp = self.send(&post)?;
        if resp.status().as_u16() != 202 {
            return Err(status_err(reference, what, resp));
        }
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| RegistryError::Status {
                host: reference.registry.clone(),
                what: what.clone(),
                status: 202,
                message: "the upload answer has no `Location`".to_owned(),
            })?
            .to_owned();
        let base = self.url(
            reference,
            &format!("/v2/{}/blobs/uploads/", reference.repository),
        );
        let mut url = resolve(&base, &location);
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&format!(
            "digest={}",
            super::client::percent(&digest.to_string())
        ));
        let put = Req {
            method: Method::PUT,
            reference,
            path: url,
            headers: vec![("content-type", "application/octet-stream".to_owned())],
            body: Some(data),
            actions: "pull,push",
            what: what.clone(),
        };
        let resp = self.send(&put)?;
        if resp.status().as_u16() != 201 {
            return Err(status_err(reference, what, resp));
        }
        Ok(digest)
    }

    /// Puts a manifest under `reference`'s tag (or its digest). Returns the digest.
    pub fn put_manifest(
        &self,
        reference: &Reference,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<Digest, RegistryError> {
        self.put_manifest_answer(reference, media_type, bytes)
            .map(|(digest, _)| digest)
    }

    /// [`Self::put_manifest`], also returning the `OCI-Subject` header: a registry
    /// with the referrers API answers it when the manifest has a `subject`.
    pub(super) fn put_manifest_answer(
        &self,
        reference: &Reference,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<(Digest, Option<String>), RegistryError> {
        let digest = Digest::of(bytes);
        let target = match (&reference.tag, &reference.digest) {
            (Some(t), _) => t.clone(),
            (None, _) => digest.to_string(),
        };
        let what = format!("{}:{target}", reference.repository);
        let req = Req {
            method: Method::PUT,
            reference,
            path: format!("/v2/{}/manifests/{target}", reference.repository),
            headers: vec![("content-type", media_type.to_owned())],
            body: Some(bytes),
            actions: "pull,push",
            what: what.clone(),
        };
        let resp = self.send(&req)?;
        if resp.status().as_u16() != 201 {
            return Err(status_err(reference, what, resp));
        }
        let subject = resp
            .headers()
            .get("oci-subject")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_owned());
        drop(read_small(resp));
        Ok((digest, subject))
    }

    /// All tags of the repository, following `Link: <…>; rel="next"` pages.
    pub fn tags(&self, reference: &Reference) -> Result<Vec<String>, RegistryError> {
        #[derive(Deserialize)]
        struct TagList {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let mut out = Vec::new();
        let mut path = format!("/v2/{}/tags/list", reference.repository);
        let what = format!("{} tags", reference.repository);
        for _ in 0..1000 {
            let req = Req {
                method: Method::GET,
                reference,
                path: path.clone(),
                headers: Vec::new(),
                body: None,
                actions: "pull",
                what: what.clone(),
            };
            let resp = self.send(&req)?;
            if resp.status().as_u16() != 200 {
                return Err(status_err(reference, what, resp));
            }
            let next = resp
                .headers()
                .get("link")
                .and_then(|v| v.to_str().ok())
                .and_then(next_link);
            let body = read_limited(resp, MAX_MANIFEST, reference, &what)?;
            let list: TagList =
                serde_json::from_slice(&body).map_err(|e| RegistryError::Status {
                    host: reference.registry.clone(),
                    what: what.clone(),
                    status: 200,
                    message: format!("not a tag list: {e}"),
                })?;
            out.extend(list.tags.unwrap_or_default());
            match next {
                Some(n) => path = n,
                None => return Ok(out),
            }
        }
        Ok(out)
    }

    /// The manifests that refer to `digest` (OCI 1.1 referrers API), optionally of
    /// one artifact type; on registries without the API, the `sha256-<hex>` tag
    /// index of the fallback scheme (none when it does not exist).
    /// [`Client::referrers_listed`] also says which of the two answered.
    pub fn referrers(
        &self,
        reference: &Reference,
        digest: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Referrer>, RegistryError> {
        Ok(self
            .referrers_listed(reference, digest, artifact_type)?
            .list)
    }
}

pub(super) fn read_limited(
    resp: ureq::http::Response<ureq::Body>,
    max: u64,
    reference: &Reference,
    what: &str,
) -> Result<Vec<u8>, RegistryError> {
    let mut buf = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(resp.into_body().into_reader(), max + 1),
        &mut buf,
    )
    .map_err(|e| RegistryError::Connect {
        host: reference.registry.clone(),
        detail: format!("reading `{what}` failed: {e}"),
    })?;
    if buf.len() as u64 > max {
        return Err(RegistryError::Status {
            host: reference.registry.clone(),
            what: what.to_owned(),
            status: 200,
            message: format!("the answer is larger than {max} bytes"),
        });
    }
    Ok(buf)
}

/// The target of `Link: </v2/…?last=x&n=y>; rel="next"`.
pub(super) fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        params.contains("rel=\"next\"").then(|| {
            target
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_header() {
        assert_eq!(
            next_link(r#"</v2/a/tags/list?last=b&n=2>; rel="next""#).as_deref(),
            Some("/v2/a/tags/list?last=b&n=2")
        );
        assert_eq!(next_link(r#"</x>; rel="prev""#), None);
    }
}
