//! Amazon ECS JSON as the AWS CLI prints it (ECS API reference:
//! <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/>):
//!
//! - `aws ecs describe-task-definition`: `{"taskDefinition": {"family", "revision",
//!   "containerDefinitions": [{"name", "image"}, …]}}`; also the bare task definition
//!   (`--query taskDefinition`, or a `register-task-definition` input), which has
//!   `containerDefinitions` at the top. A task definition says what *should* run: its
//!   images are verified only when pinned by digest.
//! - `aws ecs describe-tasks`: `{"tasks": [{"taskArn", "taskDefinitionArn",
//!   "containers": [{"name", "image", "imageDigest"}, …]}], "failures": []}`.
//!   `imageDigest` is the manifest digest the agent resolved and pulled. A task whose
//!   A container with only an `imageDigest` and no `image` (a sidecar the platform
//!   injects, such as GuardDuty's agent) is read with its digest alone. A task whose
//!   `lastStatus` or `desiredStatus` is `STOPPED` runs nothing (or is being stopped):
//!   `describe-tasks` returns stopped tasks for about an hour after they stop, so its
//!   containers are marked [`Container::not_running`].

use serde_json::{Map, Value};

use crate::digest::Digest;
use crate::model::running::Container;

/// Whether an object has the shape of one of the outputs above.
pub(super) fn recognises(object: &Map<String, Value>) -> bool {
    object.contains_key("taskDefinition")
        || object.contains_key("containerDefinitions")
        || object.contains_key("tasks")
}

/// The containers of a task definition or a `describe-tasks` result.
pub(super) fn containers(value: &Value) -> Result<Vec<Container>, String> {
    let mut out = Vec::new();
    if let Some(tasks) = value.get("tasks") {
        let tasks = tasks.as_array().ok_or("`tasks` is not an array")?;
        for task in tasks {
            let arn = task.get("taskArn").and_then(Value::as_str).unwrap_or("?");
            let workload = format!("task {}", arn.rsplit('/').next().unwrap_or(arn));
            let status = |key: &str| task.get(key).and_then(Value::as_str);
            let not_running = if status("lastStatus") == Some("STOPPED") {
                Some("task `STOPPED`".to_owned())
            } else if status("desiredStatus") == Some("STOPPED") {
                Some("task stopping (desired status `STOPPED`)".to_owned())
            } else {
                None
            };
            let list = task
                .get("containers")
                .and_then(Value::as_array)
                .ok_or_else(|| format!("{workload} has no `containers` array"))?;
            for c in list {
                let mut container = if c.get("image").is_none() && c.get("imageDigest").is_some() {
                    // A sidecar the platform injects (`aws-guardduty-agent-…`) reports
                    // only what it pulled: it can match by digest, never by name.
                    let name = c
                        .get("name")
                        .and_then(Value::as_str)
                        .ok_or_else(|| format!("a container of {workload} has no `name`"))?;
                    Container {
                        name: name.to_owned(),
                        workload: workload.clone(),
                        image: String::new(),
                        digest: None,
                        not_running: None,
                    }
                } else {
                    super::container_from_spec(c, &workload)?
                };
                if not_running.is_some() {
                    container.not_running.clone_from(&not_running);
                }
                if let Some(digest) = c.get("imageDigest").and_then(Value::as_str) {
                    let digest: Digest = digest.parse().map_err(|e| {
                        format!(
                            "`imageDigest` of container `{}` in {workload}: {e}",
                            container.name
                        )
                    })?;
                    container.digest = Some(digest);
                }
                out.push(container);
            }
        }
        return Ok(out);
    }
    let task_def = value.get("taskDefinition").unwrap_or(value);
    let family = task_def
        .get("family")
        .and_then(Value::as_str)
        .unwrap_or("?");
    let workload = match task_def.get("revision").and_then(Value::as_u64) {
        Some(rev) => format!("task-definition {family}:{rev}"),
        None => format!("task-definition {family}"),
    };
    let list = task_def
        .get("containerDefinitions")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("{workload} has no `containerDefinitions` array"))?;
    for c in list {
        out.push(super::container_from_spec(c, &workload)?);
    }
    Ok(out)
}
