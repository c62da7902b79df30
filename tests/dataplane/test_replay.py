"""``zdverify replay`` (zdverify/replay.py, zdverify/dataplane.py): a counterexample's run on
a real Linux data plane fails where the model says, and the same run with the suggested fix
fails nowhere."""
from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from zdverify import cli
from zdverify.dataplane import DataPlane, DataPlaneError, unavailable
from zdverify.replay import load, replay

ROOT = Path(__file__).resolve().parents[2]


def _namespaces() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.startswith("zdv-")}


def _report(tmp_path_factory: pytest.TempPathFactory, example: str) -> str:
    why = unavailable()
    if why:
        pytest.skip(why)
    report = tmp_path_factory.mktemp("replay") / f"{example}.json"
    done = subprocess.run([sys.executable, "-m", "zdverify", str(ROOT / "examples" / example), "-o", "json",
                           "--likelihood-runs", "0"], capture_output=True, text=True, timeout=300)
    report.write_text(done.stdout)
    return str(report)


@pytest.fixture(scope="module")
def no_prestop_report(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _report(tmp_path_factory, "no-prestop.yaml")


@pytest.fixture(scope="module")
def no_prestop(no_prestop_report: str) -> dict:
    return load(no_prestop_report, "termination")


def test_the_counterexample_fails_inside_its_window_and_cleans_up(no_prestop: dict) -> None:
    before = _namespaces()
    temporary = set(Path(tempfile.gettempdir()).glob("zdv-replay-*"))
    t = time.monotonic()
    out = replay(no_prestop)
    assert time.monotonic() - t <= 30  # the bound at time scale 1
    a, b = out.violation
    assert out.requests > 100 and out.failed, out.text(1)
    assert all(a - 0.1 <= t <= b + 0.1 and kind in ("refused", "reset") for t, kind in out.failed), out.text(1)
    assert _namespaces() == before and set(Path(tempfile.gettempdir()).glob("zdv-replay-*")) == temporary


def test_the_suggested_fix_replays_the_same_run_without_a_failure(no_prestop_report: str) -> None:
    fixed = load(no_prestop_report, "termination", with_fix=True)
    pod = next(p for p in fixed["pods"] if p["name"] == fixed["violation"]["pod"])
    assert pod["sigterm"] - pod["deleted"] == 3  # the preStop sleep the fix suggests
    out = replay(fixed)
    assert out.requests > 100 and out.failed == (), out.text(1, with_fix=True)


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="needs haproxy (Debian package; .ci/run installs it)")
def test_a_local_counterexample_through_haproxy_and_its_fix(tmp_path_factory: pytest.TempPathFactory) -> None:
    """recommended-local: haproxy, checking each node's health port with the profile's
    interval, fall and rise, keeps sending to a node after its last pod closed; the
    suggested preStop closes the window (replayed at a time scale of 0.15)."""
    report = _report(tmp_path_factory, "recommended-local.yaml")
    out = replay(load(report, "termination"), scale=0.15, lb="haproxy")
    a, b = out.violation
    assert any(a - 0.2 <= t <= b + 0.2 for t, _ in out.failed), out.text(0.15)
    fixed = replay(load(report, "termination", with_fix=True), scale=0.15, lb="haproxy")
    assert fixed.failed == (), fixed.text(0.15, with_fix=True)


def test_the_cli_replays_a_saved_report_and_says_when_it_cannot(no_prestop: dict, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    report = tmp_path / "r.json"
    report.write_text(json.dumps({"results": [{"verdict": "counterexample", "property": "termination",
                                               "schedule": no_prestop}]}))
    monkeypatch.setattr("zdverify.dataplane.os.geteuid", lambda: 1000)
    result = CliRunner().invoke(cli.main, ["replay", str(report)])
    assert result.exit_code == 3 and "cannot build the data plane: needs root" in result.output
    bad = CliRunner().invoke(cli.main, ["replay", str(tmp_path / "missing.json")])
    assert bad.exit_code == 2


def test_a_failure_while_building_removes_what_was_made(no_prestop: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _namespaces()

    def broken(self: DataPlane, j: int, i: int) -> None:
        raise DataPlaneError("simulated failure")

    monkeypatch.setattr(DataPlane, "_pod", broken)
    with pytest.raises(DataPlaneError, match="simulated"):
        replay(no_prestop)
    assert _namespaces() == before


def test_ctrl_c_removes_the_data_plane(no_prestop_report: str) -> None:
    before = _namespaces()
    p = subprocess.Popen([sys.executable, "-m", "zdverify", "replay", no_prestop_report], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    assert p.stderr is not None
    for line in p.stderr:  # wait until the namespaces exist and the run is under way
        if "replaying" in line:
            break
    assert _namespaces() - before  # it did build
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130 and "interrupted" in err
    assert _namespaces() == before


def test_a_fail_open_load_balancer_sends_to_a_node_without_an_endpoint(tmp_path_factory: pytest.TempPathFactory) -> None:
    """local-no-healthy-node through the L4 load balancer (an NLB, which fails open): while
    it finds no node healthy it sends to every node, and a node with no local endpoint drops
    the connection; the suggested minReadySeconds replays without a failure."""
    report = _report(tmp_path_factory, "local-no-healthy-node.yaml")
    s = load(report, "no-healthy-target")
    out = replay(s, scale=0.3)
    a, b = out.violation
    assert out.failed and all(a - 0.2 <= t <= b + 0.2 for t, _ in out.failed), out.text(0.3)
    fixed = replay(load(report, "no-endpoint", with_fix=True), scale=0.3, lb="l4")  # the same load balancer
    assert fixed.requests > 50 and fixed.failed == (), fixed.text(0.3, with_fix=True)


def test_a_load_balancer_that_targets_pod_ips(tmp_path_factory: pytest.TempPathFactory) -> None:
    """ip-targets-no-gate: the load balancer drops the old pods' IPs before a new one is
    healthy; with no target every new connection fails, inside the predicted window only."""
    s = load(_report(tmp_path_factory, "ip-targets-no-gate.yaml"), "no-endpoint")
    out = replay(s, scale=0.3)
    a, b = out.violation
    assert len(out.failed) > 10 and all(a - 0.2 <= t <= b + 0.2 for t, _ in out.failed), out.text(0.3)
    assert out.requests > len(out.failed)  # before and after the window: served


def test_pooled_connections_meet_the_closed_connection(tmp_path_factory: pytest.TempPathFactory) -> None:
    """pooled-clients: a keep-alive connection stays on its pod after the endpoint is gone,
    and the request sent on it when the application closes idle connections fails; answering
    "Connection: close" from SIGTERM on (the suggested fix, the pod draining on) moves the
    clients to another pod without a failure."""
    s = load(_report(tmp_path_factory, "pooled-clients.yaml"), "connection-reuse")
    out = replay(s, scale=0.3)
    a, _ = out.violation
    assert out.pooled and out.failed and all(t >= a - 0.1 for t, _ in out.failed), out.text(0.3)
    assert {kind for _, kind in out.failed} <= {"reset", "closed"}
    s["keep_alive"] = {"idle": "connection-close", "client_idle_timeout": 90.0}
    for p in s["pods"]:  # drain 95 s: stops accepting and exits long after the window
        if p["sigterm"] is not None:
            p["closed"] = p["exited"] = p["sigterm"] + 95
    fixed = replay(s, scale=0.3)
    assert fixed.requests > 100 and fixed.failed == (), fixed.text(0.3, with_fix=True)
