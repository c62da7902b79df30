"""Issue J, kept so: fuzzed manifests, spec files, cluster and config files and flags never
crash zdverify — every run ends with a verdict (exit 0, 1, 3) or located errors (exit 2),
never a traceback or an "internal error". Bounded and derandomised in CI (the ``ci``
profile); a longer run for maintainers: ``ZDVERIFY_FUZZ_EXAMPLES=2000
ZDVERIFY_HYPOTHESIS_PROFILE=deep python -m pytest tests/cli/test_fuzz.py``."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zdverify import cli

EXAMPLES = int(os.environ.get("ZDVERIFY_FUZZ_EXAMPLES", "25"))
ROOT = Path(__file__).resolve().parents[2]

junk = st.one_of(st.none(), st.booleans(), st.integers(-3, 40), st.floats(allow_nan=True, allow_infinity=True),
                 st.text(max_size=12), st.sampled_from(["25%", "0%", "101%", "1e309", "-1", "", "http", "9" * 30]),
                 st.lists(st.integers(0, 3), max_size=2), st.dictionaries(st.text(max_size=4), st.integers(), max_size=2))


def mostly(valid: st.SearchStrategy) -> st.SearchStrategy:
    """``valid`` seven times in eight, else junk: many runs reach the checker, some the errors."""
    return st.integers(0, 7).flatmap(lambda k: junk if k == 7 else valid)


small = mostly(st.integers(0, 5))


@st.composite
def manifest(draw: st.DrawFn) -> list[dict]:
    container = {"name": "web", "image": "nginx", "ports": [{"containerPort": draw(mostly(st.just(80)))}],
                 "readinessProbe": draw(st.one_of(st.none(), st.fixed_dictionaries({
                     "tcpSocket": st.fixed_dictionaries({"port": mostly(st.just(80))}),
                     "periodSeconds": small, "failureThreshold": small}))),
                 "startupProbe": draw(st.one_of(st.none(), st.fixed_dictionaries({
                     "exec": st.fixed_dictionaries({"command": st.lists(st.text(max_size=8), max_size=3)}),
                     "failureThreshold": small, "periodSeconds": small}))),
                 "lifecycle": draw(st.one_of(st.none(), st.fixed_dictionaries({
                     "preStop": st.fixed_dictionaries({"sleep": st.fixed_dictionaries({"seconds": small})})})))}
    kind = draw(st.sampled_from(["Deployment", "DaemonSet", "StatefulSet"]))
    spec = {"replicas": draw(mostly(st.integers(0, 4))), "minReadySeconds": draw(small),
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}, "annotations": draw(st.one_of(st.none(), st.dictionaries(
                st.sampled_from(["zdverify/app-startup", "zdverify/on-sigterm", "zdverify/keep-alive",
                                 "zdverify/exec-probe-port"]), st.text(max_size=20), max_size=2)))},
                         "spec": {"terminationGracePeriodSeconds": draw(small), "containers": [container]}}}
    if kind == "Deployment":
        spec["strategy"] = {"type": draw(mostly(st.sampled_from(["RollingUpdate", "Recreate", ""]))),
                            "rollingUpdate": {"maxSurge": draw(mostly(st.sampled_from([0, 1, "25%", "50%"]))),
                                              "maxUnavailable": draw(mostly(st.sampled_from([0, 1, "25%"])))}}
    if kind == "DaemonSet":
        spec.pop("replicas")
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
               "spec": {"selector": {"app": "web"}, "type": draw(mostly(st.sampled_from(["ClusterIP", "LoadBalancer"]))),
                        "externalTrafficPolicy": draw(st.sampled_from(["Cluster", "Local", ""])),
                        "ports": [{"port": draw(mostly(st.just(80))), "targetPort": draw(mostly(st.just(80)))}]}}
    return [{"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": "web"}, "spec": spec}, service]


def _check(args: list[str]) -> None:
    result = CliRunner().invoke(cli.main, args)
    out = result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 1, 2, 3), out
    assert "internal error" not in out and "Traceback" not in out, out


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(docs=manifest(), nodes=st.one_of(st.none(), st.integers(1, 4)), cut=st.integers(0, 400),
       flip=mostly(st.just("")).map(lambda x: x if isinstance(x, str) else str(x)[:3]))
def test_fuzzed_manifests_never_crash(docs: list[dict], nodes: int | None, cut: int, flip: str) -> None:
    text = yaml.safe_dump_all(docs, sort_keys=False)
    if flip:  # and now and then a syntax error somewhere
        text = text[:cut] + flip + text[cut:]
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "m.yaml"
        f.write_text(text)
        _check([str(f), "--likelihood-runs", "0", "--time-budget", "60", "-j", "1",
                *(["--nodes", str(nodes)] if nodes else [])])


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(spec=st.lists(st.sampled_from(list("()pnodeaxistrvg:,{}01sm<>=!+- \n") + [
           "never ", "always ", "exists ", "forall ", "pod ", "node ", "routes(n, p)", "serving(p)", "count(",
           'property ZDV999 x {\n  description: "d"\n  remediation: "r"\n  cause: termination\n  ']),
           max_size=30).map("".join),
       cluster=st.dictionaries(st.sampled_from(["nodes", "bounds", "kubernetesVersion", "loadBalancer", "x"]),
                               st.one_of(junk, st.lists(st.fixed_dictionaries({"name": st.text(min_size=1, max_size=4),
                                                                            "pods": small}), max_size=3)),
                               max_size=3),
       config=st.dictionaries(st.sampled_from(["nodes", "assume", "k8s-version", "reports", "format", "lb",
                                              "suppress", "properties"]), junk, max_size=3))
def test_fuzzed_specs_cluster_and_config_files_never_crash(spec: str, cluster: dict, config: dict) -> None:
    with tempfile.TemporaryDirectory() as d:
        paths = {name: Path(d) / name for name in ("s.zds", "c.yaml", "z.yaml")}
        paths["s.zds"].write_text(spec)
        paths["c.yaml"].write_text(yaml.safe_dump(cluster))
        paths["z.yaml"].write_text(yaml.safe_dump(config))
        example = str(ROOT / "examples" / "no-prestop.yaml")
        for args in (["--spec", str(paths["s.zds"])], ["--cluster", str(paths["c.yaml"])],
                     ["--config", str(paths["z.yaml"])]):
            _check([example, "--likelihood-runs", "0", "-j", "1", *args])
        _check(["properties", "--spec", str(paths["s.zds"])])
