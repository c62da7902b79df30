"""How each incident example is run (the flags its header comment names); the golden,
example and gallery tests use the same options."""
from __future__ import annotations

OPTIONS: dict[str, dict[str, str | int]] = {
    "local-preferred-anti-affinity.yaml": {"nodes": 4},
    "statefulset-drain.yaml": {"drain": "node-1"},
    "statefulset-drain-budget.yaml": {"drain": "node-1"},
    "incident-k8s-85643.yaml": {"k8s_version": "1.21", "lb": "gcp"},
    "incident-k8s-85643-fixed.yaml": {"lb": "gcp"},
    "incident-k8s-85643-one-per-node.yaml": {"lb": "gcp"},
    "incident-k8s-99299.yaml": {"cluster": "examples/clusters/haproxy-6-nodes.yaml"},
    "haproxy-cadence.yaml": {"cluster": "examples/clusters/haproxy-1-34.yaml"},  # from the repository root
    "incident-k8s-50977.yaml": {"k8s_version": "1.19", "lb": "azure", "drain": "node-1"},
    "incident-ingress-gce-769.yaml": {"lb": "gcp-neg"},
    "incident-ingress-gce-769-fixed.yaml": {"lb": "gcp-neg"},
}
