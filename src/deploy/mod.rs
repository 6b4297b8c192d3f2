//! Running-state readers for `verify`: manifests, Kubernetes and ECS JSON, store-path lists.
