//! Kubernetes JSON as `kubectl get … -o json` prints it (API reference:
//! <https://kubernetes.io/docs/reference/kubernetes-api/>):
//!
//! - a list: `{"apiVersion": "v1", "kind": "List", "items": [ … ]}` (also the typed
//!   `PodList`, `DeploymentList`, … that the API server returns);
//! - one object: `Deployment`, `StatefulSet`, `DaemonSet`, `ReplicaSet`, `Job`
//!   (`spec.template.spec`), `CronJob` (`spec.jobTemplate.spec.template.spec`) or
//!   `Pod` (`spec`).
//!
//! Every `containers[]` and `initContainers[]` entry (`name`, `image`) is a container.
//! For a Pod, `status.containerStatuses[]` / `initContainerStatuses[]` report
//! `imageID`, the digest actually pulled: `docker-pullable://repo@sha256:…` (dockershim)
//! or `repo@sha256:…` (containerd, CRI-O). That digest wins over the spec's reference,
//! since it is what runs. `docker://sha256:…` is the local image id (the config
//! digest), not a manifest digest, so it is not used. Other kinds (Services,
//! ConfigMaps, …) in a list are skipped: `kubectl get all` returns them.

use serde_json::Value;

use super::Container;
use crate::digest::Digest;

/// The containers of a Kubernetes object or list.
pub(super) fn containers(value: &Value) -> Result<Vec<Container>, String> {
    let mut out = Vec::new();
    collect(value, &mut out, 0)?;
    Ok(out)
}

fn collect(value: &Value, out: &mut Vec<Container>, depth: usize) -> Result<(), String> {
    let kind = value
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let name = value
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("?");
    if kind == "List" || kind.ends_with("List") {
        if depth > 0 {
            return Err(format!("a `{kind}` is nested inside a list"));
        }
        let items = value
            .get("items")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("the `{kind}` has no `items` array"))?;
        for item in items {
            collect(item, out, depth + 1)?;
        }
        return Ok(());
    }
    let pod_spec = match kind {
        "Pod" => value.get("spec"),
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "Job"
        | "ReplicationController" => value.pointer("/spec/template/spec"),
        "CronJob" => value.pointer("/spec/jobTemplate/spec/template/spec"),
        // Services, ConfigMaps and the like run no image.
        _ => return Ok(()),
    };
    let Some(pod_spec) = pod_spec else {
        return Err(format!("{kind} `{name}` has no pod spec"));
    };
    let workload = format!("{kind}/{name}");
    let statuses: Vec<&Value> = ["containerStatuses", "initContainerStatuses"]
        .iter()
        .filter_map(|key| value.get("status")?.get(*key)?.as_array())
        .flatten()
        .collect();
    for key in ["initContainers", "containers"] {
        let Some(list) = pod_spec.get(key) else {
            continue;
        };
        let list = list
            .as_array()
            .ok_or_else(|| format!("`{key}` of {workload} is not an array"))?;
        for c in list {
            let mut container = Container::from_spec(c, &workload)?;
            let status = statuses
                .iter()
                .find(|s| s.get("name").and_then(Value::as_str) == Some(container.name.as_str()));
            if let Some(image_id) = status
                .and_then(|s| s.get("imageID"))
                .and_then(Value::as_str)
            {
                if let Some(pulled) = pulled_digest(image_id)
                    .map_err(|e| format!("container `{}` of {workload}: {e}", container.name))?
                {
                    container.digest = Some(pulled);
                }
            }
            out.push(container);
        }
    }
    Ok(())
}

/// The manifest digest in a container status's `imageID`, when it holds one.
fn pulled_digest(image_id: &str) -> Result<Option<Digest>, String> {
    let id = image_id
        .strip_prefix("docker-pullable://")
        .unwrap_or(image_id);
    match id.rsplit_once('@') {
        Some((_, digest)) => digest
            .parse()
            .map(Some)
            .map_err(|e| format!("`imageID` {e}")),
        // Empty while pulling; `docker://sha256:…` or a bare id is the image id.
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_ids_yield_manifest_digests_only() {
        let d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        for (id, expected) in [
            (format!("docker-pullable://nginx@{d}"), Some(d)),
            (format!("docker.io/library/nginx@{d}"), Some(d)),
            (format!("docker://{d}"), None),
            (d.to_owned(), None),
            (String::new(), None),
        ] {
            let got = pulled_digest(&id).unwrap().map(|x| x.to_string());
            assert_eq!(got.as_deref(), expected, "{id}");
        }
        assert!(pulled_digest("nginx@sha256:short").is_err());
    }
}
