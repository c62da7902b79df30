"""Every example's counterexample replayed on a real data plane (maintainers' run: it takes
minutes; ``ZDVERIFY_REPLAY_ALL=1 python -m pytest tests/dataplane/test_every_example.py``).
A counterexample of a property the replay observes (startup, termination, no-endpoint,
no-healthy-target: new connections that fail) must show a failed one from its violation's
start on; its fix, none of the kind the property describes (refused or reset for a pod not
serving: other failures, such as a Local node's DROP, belong to other properties)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from zdverify.dataplane import DataPlaneError, unavailable
from zdverify.replay import replay

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "cases"))
from example_options import OPTIONS  # noqa: E402

EXAMPLES = sorted(p.name for p in (ROOT / "examples").glob("*.yaml"))
SCALE = 0.5


def _flags(name: str) -> list[str]:
    out = []
    for key, value in OPTIONS.get(name, {}).items():
        if key in ("lb", "k8s_version", "nodes", "cluster", "drain"):
            out += [f"--{key.replace('_', '-')}", str(ROOT / value) if key == "cluster" else str(value)]
    return out


@pytest.mark.skipif(not os.environ.get("ZDVERIFY_REPLAY_ALL"), reason="maintainers' run: ZDVERIFY_REPLAY_ALL=1")
@pytest.mark.parametrize("name", EXAMPLES)
def test_each_counterexample_fails_on_a_real_data_plane(name: str) -> None:
    why = unavailable()
    if why:
        pytest.skip(why)
    done = subprocess.run([sys.executable, "-m", "zdverify", str(ROOT / "examples" / name), "-o", "json",
                           "--likelihood-runs", "0", *_flags(name)], capture_output=True, text=True, timeout=600)
    observed = ("startup", "termination", "no-endpoint", "no-healthy-target", "connection-reuse")
    results = [r for r in json.loads(done.stdout)["results"] if r["verdict"] == "counterexample" and r["schedule"]
               and r["property"] in observed]
    if not results:
        pytest.skip("no counterexample")
    r = results[0]
    try:
        out = replay(r["schedule"], scale=SCALE)
    except DataPlaneError as e:
        pytest.skip(f"not replayable yet: {e}")
    a, _ = out.violation
    assert any(t >= a - 0.2 for t, _ in out.failed), f"{r['property']}: {out.text(SCALE)}"
    if r["fix_schedule"]:
        fixed = replay(r["fix_schedule"], scale=SCALE)
        kinds = {"startup": ("refused", "reset"), "termination": ("refused", "reset"),
                 "connection-reuse": ("reset", "closed")}.get(r["property"], ("refused", "reset", "timeout"))
        assert not [f for f in fixed.failed if f[1] in kinds], f"{r['property']} fixed: {fixed.text(SCALE, True)}"
