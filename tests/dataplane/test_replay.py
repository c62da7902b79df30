"""``zdverify replay`` (zdverify/replay.py, zdverify/dataplane.py): a counterexample's run on
a real Linux data plane fails where the model says, and a run that closes after its endpoint
is removed fails nowhere."""
from __future__ import annotations

import copy
import json
import subprocess
import sys
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


@pytest.fixture(scope="module")
def no_prestop(tmp_path_factory: pytest.TempPathFactory) -> dict:
    why = unavailable()
    if why:
        pytest.skip(why)
    report = tmp_path_factory.mktemp("replay") / "no-prestop.json"
    done = subprocess.run([sys.executable, "-m", "zdverify", str(ROOT / "examples/no-prestop.yaml"), "-o", "json",
                           "--likelihood-runs", "0"], capture_output=True, text=True, timeout=300)
    report.write_text(done.stdout)
    return load(str(report), "termination")


def test_the_counterexample_fails_inside_its_window_and_cleans_up(no_prestop: dict) -> None:
    before = _namespaces()
    t = time.monotonic()
    out = replay(no_prestop)
    assert time.monotonic() - t <= 30  # the bound at time scale 1
    a, b = out.violation
    assert out.requests > 100 and out.failed, out.text(1)
    assert all(a - 0.1 <= t <= b + 0.1 and kind in ("refused", "reset") for t, kind in out.failed), out.text(1)
    assert _namespaces() == before


def test_closing_after_the_endpoint_is_removed_fails_nowhere(no_prestop: dict) -> None:
    """The fix's effect: the pod keeps serving until every node applied its removal."""
    s = copy.deepcopy(no_prestop)
    pod = next(p for p in s["pods"] if p["name"] == s["violation"]["pod"])
    last_removal = max(a["t"] for a in s["applies"] if a["pod"] == pod["name"])
    pod["closed"] = pod["exited"] = last_removal + 0.5
    out = replay(s)
    assert out.requests > 100 and out.failed == (), out.text(1)


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
