"""The model: Kubernetes objects with source positions, the timed semantics of each
component, the rollout state graph and the search (see the README, "Layout and tests")."""
