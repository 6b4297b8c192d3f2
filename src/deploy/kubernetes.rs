//! Kubernetes JSON as `kubectl get … -o json` prints it (API reference:
//! <https://kubernetes.io/docs/reference/kubernetes-api/>):
//!
//! - a list: `{"apiVersion": "v1", "kind": "List", "items": [ … ]}`, each item with its
//!   own `kind`; or a typed `<Kind>List` (`PodList`, `DeploymentList`, …) as the API
//!   server, `kubectl get --raw` and client libraries return it, whose items carry no
//!   `kind`: each is a `<Kind>`. An item of a `List` with no `kind` cannot be
//!   understood and is an error, never skipped;
//! - one object: `Deployment`, `StatefulSet`, `DaemonSet`, `ReplicaSet`,
//!   `ReplicationController`, `Job` (`spec.template.spec`), `CronJob`
//!   (`spec.jobTemplate.spec.template.spec`) or `Pod` (`spec`).
//!
//! Every `containers[]` and `initContainers[]` entry (`name`, `image`) is a container.
//! For a Pod, `status.containerStatuses[]` / `initContainerStatuses[]` report
//! `imageID`, the digest actually pulled: `docker-pullable://repo@sha256:…` (dockershim)
//! or `repo@sha256:…` (containerd, CRI-O). That digest wins over the spec's reference,
//! since it is what runs. `docker://sha256:…` is the local image id (the config
//! digest), not a manifest digest, so it is not used. Other kinds (Services,
//! ConfigMaps, …) in a list are skipped: `kubectl get all` returns them. A `Status`
//! (the API server's error reply) is an error: it describes no objects at all.
//!
//! Objects that run nothing are kept but marked ([`Container::not_running`]), so that
//! `verify` neither compares them nor forgets to say why a component's only match
//! did not count. `kubectl get all` includes old ReplicaSets kept as rollout history,
//! and finished Pods and Jobs linger until they are cleaned up:
//!
//! | kind | runs nothing when |
//! |---|---|
//! | Deployment, StatefulSet, ReplicaSet, ReplicationController | `spec.replicas` is 0 and `status.replicas` is 0 or absent (pods still terminating still run) |
//! | Pod | `status.phase` is `Succeeded` or `Failed` |
//! | Job | a `Complete` or `Failed` condition is `True` |
//! | CronJob | `spec.suspend` is true |
//! | DaemonSet | `status.desiredNumberScheduled` and `currentNumberScheduled` are both 0 |

use serde_json::Value;

use crate::digest::Digest;
use crate::model::running::Container;

/// The containers of a Kubernetes object or list.
pub(super) fn containers(value: &Value) -> Result<Vec<Container>, String> {
    let mut out = Vec::new();
    let kind = value
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if kind == "List" || kind.ends_with("List") {
        let items = value
            .get("items")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("the `{kind}` has no `items` array"))?;
        // A typed list's items omit `kind`: the list's kind says it for them all.
        let item_kind = kind.strip_suffix("List").filter(|k| !k.is_empty());
        for (i, item) in items.iter().enumerate() {
            let n = i + 1;
            if !item.is_object() {
                return Err(format!("item {n} of the `{kind}` is not an object"));
            }
            let kind = match item.get("kind") {
                None => item_kind.ok_or_else(|| {
                    format!("item {n} of the `{kind}` has no `kind`, so what it is cannot be told")
                })?,
                Some(k) => k.as_str().ok_or_else(|| {
                    format!("item {n} of the `{kind}` has a `kind` that is not a string")
                })?,
            };
            if kind == "List" || kind.ends_with("List") {
                return Err(format!("a `{kind}` is nested inside a list (item {n})"));
            }
            object(item, kind, &mut out)?;
        }
    } else {
        object(value, kind, &mut out)?;
    }
    Ok(out)
}

/// The containers of one object of the given kind.
fn object(value: &Value, kind: &str, out: &mut Vec<Container>) -> Result<(), String> {
    let name = value
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("?");
    let pod_spec = match kind {
        "Pod" => value.get("spec"),
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "Job"
        | "ReplicationController" => value.pointer("/spec/template/spec"),
        "CronJob" => value.pointer("/spec/jobTemplate/spec/template/spec"),
        // An error reply read as if it were the objects would say nothing runs.
        "Status" => {
            let message = value
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("no message");
            return Err(format!(
                "it is a `Status`, the API server's reply to a failed request ({message}), not a list of objects"
            ));
        }
        // Services, ConfigMaps and the like run no image.
        _ => return Ok(()),
    };
    let Some(pod_spec) = pod_spec else {
        return Err(format!("{kind} `{name}` has no pod spec"));
    };
    let workload = format!("{kind}/{name}");
    let not_running = not_running(kind, value);
    let statuses: Vec<&Value> = ["containerStatuses", "initContainerStatuses"]
        .iter()
        .filter_map(|key| value.get("status")?.get(*key)?.as_array())
        .flatten()
        .collect();
    if pod_spec.get("containers").is_none() {
        return Err(format!("{workload} has no `containers` in its pod spec"));
    }
    for key in ["initContainers", "containers"] {
        let Some(list) = pod_spec.get(key) else {
            continue;
        };
        let list = list
            .as_array()
            .ok_or_else(|| format!("`{key}` of {workload} is not an array"))?;
        for c in list {
            let mut container = super::container_from_spec(c, &workload)?;
            if not_running.is_some() {
                container.not_running.clone_from(&not_running);
            }
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
            // A Pod container still waiting with no `imageID` never pulled its image
            // (`ImagePullBackOff`, `ErrImagePull`, `ContainerCreating`): nothing of it runs.
            // One that pulled and crash-loops does run the image, and is judged.
            if kind == "Pod" && container.not_running.is_none() {
                let pulled = status
                    .and_then(|s| s.get("imageID"))
                    .and_then(Value::as_str)
                    .is_some_and(|id| !id.is_empty());
                let waiting = status
                    .and_then(|s| s.pointer("/state/waiting/reason"))
                    .and_then(Value::as_str);
                if let (false, Some(reason)) = (pulled, waiting) {
                    container.not_running =
                        Some(format!("waiting (`{reason}`): its image was never pulled"));
                }
            }
            out.push(container);
        }
    }
    Ok(())
}

/// Why an object runs no pod now (see the table in the module doc), if it does not.
fn not_running(kind: &str, value: &Value) -> Option<String> {
    let number = |pointer: &str| value.pointer(pointer).and_then(Value::as_u64);
    match kind {
        "Deployment" | "StatefulSet" | "ReplicaSet" | "ReplicationController" => {
            // `spec.replicas` defaults to 1; `status.replicas` is omitted when 0.
            (number("/spec/replicas") == Some(0) && number("/status/replicas").unwrap_or(0) == 0)
                .then(|| "scaled to zero replicas".to_owned())
        }
        "Pod" => match value.pointer("/status/phase").and_then(Value::as_str) {
            Some(phase @ ("Succeeded" | "Failed")) => Some(format!("phase `{phase}`")),
            _ => None,
        },
        "Job" => value
            .pointer("/status/conditions")
            .and_then(Value::as_array)?
            .iter()
            .find_map(|c| {
                let kind = c.get("type").and_then(Value::as_str)?;
                let finished = matches!(kind, "Complete" | "Failed")
                    && c.get("status").and_then(Value::as_str) == Some("True");
                finished.then(|| format!("finished (`{kind}`)"))
            }),
        "CronJob" => (value.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true))
            .then(|| "suspended".to_owned()),
        "DaemonSet" => (number("/status/desiredNumberScheduled") == Some(0)
            && number("/status/currentNumberScheduled") == Some(0))
        .then(|| "scheduled on no node".to_owned()),
        _ => None,
    }
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
    fn objects_that_run_nothing_say_why() {
        use serde_json::json;
        let cases = [
            (
                "ReplicaSet",
                json!({"spec": {"replicas": 0}, "status": {"replicas": 0}}),
                Some("scaled to zero replicas"),
            ),
            (
                "Deployment",
                json!({"spec": {"replicas": 0}, "status": {}}),
                Some("scaled to zero replicas"),
            ),
            (
                "StatefulSet",
                json!({"spec": {"replicas": 0}}),
                Some("scaled to zero replicas"),
            ),
            // Scaled down, pods still terminating: they still run.
            (
                "ReplicaSet",
                json!({"spec": {"replicas": 0}, "status": {"replicas": 2}}),
                None,
            ),
            // `spec.replicas` defaults to 1.
            ("Deployment", json!({"spec": {}}), None),
            ("Deployment", json!({"spec": {"replicas": 3}}), None),
            (
                "Pod",
                json!({"status": {"phase": "Succeeded"}}),
                Some("phase `Succeeded`"),
            ),
            (
                "Pod",
                json!({"status": {"phase": "Failed"}}),
                Some("phase `Failed`"),
            ),
            ("Pod", json!({"status": {"phase": "Running"}}), None),
            ("Pod", json!({"status": {"phase": "Pending"}}), None),
            (
                "Job",
                json!({"status": {"conditions": [{"type": "Complete", "status": "True"}]}}),
                Some("finished (`Complete`)"),
            ),
            (
                "Job",
                json!({"status": {"conditions": [{"type": "Failed", "status": "True"}]}}),
                Some("finished (`Failed`)"),
            ),
            (
                "Job",
                json!({"status": {"conditions": [{"type": "Suspended", "status": "True"}], "active": 0}}),
                None,
            ),
            ("Job", json!({"status": {"active": 1}}), None),
            (
                "CronJob",
                json!({"spec": {"suspend": true}}),
                Some("suspended"),
            ),
            ("CronJob", json!({"spec": {"suspend": false}}), None),
            (
                "DaemonSet",
                json!({"status": {"desiredNumberScheduled": 0, "currentNumberScheduled": 0}}),
                Some("scheduled on no node"),
            ),
            (
                "DaemonSet",
                json!({"status": {"desiredNumberScheduled": 3, "currentNumberScheduled": 3}}),
                None,
            ),
            ("DaemonSet", json!({}), None),
        ];
        for (kind, value, expected) in cases {
            assert_eq!(
                not_running(kind, &value).as_deref(),
                expected,
                "{kind} {value}"
            );
        }
    }

    #[test]
    fn typed_list_items_take_the_list_kind() {
        use serde_json::json;
        let pod = |name: &str| {
            json!({"metadata": {"name": name},
                   "spec": {"containers": [{"name": "web", "image": "web:1"}]}})
        };
        let list = json!({"apiVersion": "v1", "kind": "PodList", "items": [pod("a"), pod("b")]});
        let found = containers(&list).unwrap();
        let workloads: Vec<&str> = found.iter().map(|c| c.workload.as_str()).collect();
        assert_eq!(workloads, ["Pod/a", "Pod/b"]);
        // An item that says its kind keeps it; an untyped `List` needs it said.
        let mut service = pod("c");
        service["kind"] = json!("Service");
        let list = json!({"apiVersion": "v1", "kind": "PodList", "items": [service]});
        assert!(containers(&list).unwrap().is_empty());
        let list = json!({"apiVersion": "v1", "kind": "List", "items": [pod("a")]});
        assert!(
            containers(&list)
                .unwrap_err()
                .contains("item 1 of the `List` has no `kind`")
        );
        let nested = json!({"apiVersion": "v1", "kind": "List", "items": [{"kind": "PodList", "items": []}]});
        assert!(containers(&nested).unwrap_err().contains("nested"));
    }

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
