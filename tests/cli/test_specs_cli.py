"""--spec, --property and `zdverify properties --spec`, through a subprocess."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "zdverify", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def test_a_user_property_is_proved_and_listed() -> None:
    p = run(str(ROOT / "examples/recommended-cluster.yaml"), "--spec", str(ROOT / "examples/specs/grace-margin.zds"),
            "--property", "grace-margin", "-o", "json")
    assert p.returncode == 0, p.stderr
    results = json.loads(p.stdout)["results"]
    assert [(r["property"], r["verdict"]) for r in results] == [("grace-margin", "proved")]
    listed = run("properties", "--spec", str(ROOT / "examples/specs/grace-margin.zds"))
    assert "GRACE1  grace-margin" in listed.stdout and "ZDV001" in listed.stdout


def test_zone_capacity_gives_a_replayed_trace_with_zones_from_the_cluster_file() -> None:
    p = run(str(ROOT / "examples/recommended-cluster.yaml"), "--spec", str(ROOT / "examples/specs/zone-capacity.zds"),
            "--property", "CAP001", "--cluster", str(ROOT / "examples/specs/two-zones.yaml"), "-o", "json")
    assert p.returncode == 1, p.stderr
    (r,) = json.loads(p.stdout)["results"]
    assert r["property"] == "zone-capacity" and r["verdict"] == "counterexample" and r["cause"] == "capacity"
    assert any(s["event"] == "violation" for s in r["trace"])


def test_property_selects_built_ins_by_id_or_name() -> None:
    p = run(str(ROOT / "examples/no-prestop.yaml"), "--property", "ZDV002", "--property", "startup", "-o", "json")
    assert [r["property"] for r in json.loads(p.stdout)["results"]] == ["startup", "termination"]
    bad = run(str(ROOT / "examples/no-prestop.yaml"), "--property", "nope")
    assert bad.returncode == 2 and "unknown property 'nope'" in bad.stderr and bad.stdout == ""


def test_a_bad_spec_is_exit_2_at_its_column_and_writes_nothing(tmp_path: Path) -> None:
    spec = tmp_path / "bad.zds"
    spec.write_text('property T1 t {\n  description: "d"\n  remediation: "r"\n  cause: startup\n'
                    "  never exists pod p: ready(p) && serving(p)\n}\n")
    out = tmp_path / "out.sarif"
    p = run(str(ROOT / "examples/no-prestop.yaml"), "--spec", str(spec), "--report", f"sarif={out}")
    assert p.returncode == 2 and p.stdout == "" and not out.exists()
    assert f"{spec}:5:32: error: expected" in p.stderr and "hint: write and, or, not" in p.stderr
    assert "Traceback" not in p.stderr


def test_config_file_names_specs_and_properties(tmp_path: Path) -> None:
    (tmp_path / "team.zds").write_text((ROOT / "examples/specs/grace-margin.zds").read_text())
    (tmp_path / ".zdverify.yaml").write_text("specs: [team.zds]\nproperties: [grace-margin, ZDV001]\n")
    p = run(str(ROOT / "examples/recommended-cluster.yaml"), "-o", "json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert [r["property"] for r in json.loads(p.stdout)["results"]] == ["startup", "grace-margin"]


def test_zone_capacity_is_proved_when_one_zone_holds_every_node() -> None:
    """The solver knows the controller's floor (replicas - maxUnavailable available, and
    Ready means listening with a probe on the port): 3 - 0 >= 2 in the only zone."""
    p = run(str(ROOT / "examples/recommended-cluster.yaml"), "--spec", str(ROOT / "examples/specs/zone-capacity.zds"),
            "--property", "zone-capacity", "--cluster", str(ROOT / "examples/specs/one-zone.yaml"), "-o", "json")
    assert p.returncode == 0, p.stdout + p.stderr
    assert [r["verdict"] for r in json.loads(p.stdout)["results"]] == ["proved"]


def test_drain_reproduces_the_local_drop_and_a_full_budget_blocks() -> None:
    """kubernetes#50977: a drain behind a Local load balancer drops requests despite the
    preStop sleep and the PodDisruptionBudget; minAvailable = replicas blocks the drain."""
    args = [str(ROOT / "examples/incident-k8s-50977.yaml"), "--k8s-version", "1.19", "--lb", "azure", "-o", "json"]
    p = run(*args, "--drain", "node-1")
    assert p.returncode == 1, p.stderr
    verdicts = {r["property"]: r for r in json.loads(p.stdout)["results"]}
    assert verdicts["no-endpoint"]["verdict"] == "counterexample"
    assert verdicts["no-endpoint"]["trace"][0]["component"] == "kubectl"
    rolling = run(*args)
    assert {r["property"]: r["verdict"] for r in json.loads(rolling.stdout)["results"]}["no-endpoint"] == \
        "counterexample"  # the rolling-update half of the report
    bad = run(*args, "--drain", "nope")
    assert bad.returncode == 2 and "--drain: no node 'nope'" in bad.stderr


@pytest.mark.parametrize("key, assumption, value", [
    ("kubernetes.io/hostname", "placement", "3 pods at once"),  # modelled: one pod per node
    ("example.com/rack", "scheduling", "not modelled exactly"),  # unknown topology: stated
])
def test_required_anti_affinity_is_modelled_or_stated(tmp_path: Path, key: str, assumption: str, value: str) -> None:
    """k8s-semantics §7: required anti-affinity can leave surge pods Pending. Per hostname it
    is modelled (room for 3 pods on 3 nodes); on a topology the model does not know, every
    proof says what it assumed."""
    text = (ROOT / "examples/recommended-cluster.yaml").read_text().replace(
        "      terminationGracePeriodSeconds: 60\n",
        "      terminationGracePeriodSeconds: 60\n      affinity:\n        podAntiAffinity:\n"
        "          requiredDuringSchedulingIgnoredDuringExecution:\n"
        f"          - labelSelector: {{matchLabels: {{run: nginx}}}}\n            topologyKey: {key}\n", 1)
    assert "podAntiAffinity" in text
    f = tmp_path / "anti.yaml"
    f.write_text(text)
    doc = json.loads(run(str(f), "-o", "json").stdout)
    found = {a["key"]: a["value"] for a in doc["results"][0]["assumptions"]}
    assert found.get(assumption) == value
    plain = json.loads(run(str(ROOT / "examples/recommended-cluster.yaml"), "-o", "json").stdout)
    assert not {"scheduling", "placement"} & {a["key"] for a in plain["results"][0]["assumptions"]}
