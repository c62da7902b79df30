"""``--jobs`` and ``--shard`` through the CLI: the same report for any number of processes,
and shards whose results together are the whole run's."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FILES = [str(ROOT / "examples" / n) for n in ("no-prestop.yaml", "pooled-clients.yaml", "article-pod.yaml",
                                                "recommended-local.yaml")]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "zdverify", *args, "--likelihood-runs", "0"], capture_output=True,
                          text=True, timeout=600, cwd=ROOT)


def test_jobs_do_not_change_the_report(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: [\n")
    serial = _run(*FILES, str(broken), "-j", "1", "-o", "json")
    parallel = _run(*FILES, str(broken), "-j", "2", "-o", "json")
    assert serial.returncode == parallel.returncode == 2  # the broken file; the others verified
    assert serial.stdout == parallel.stdout and json.loads(serial.stdout)["results"]
    text = [_run(*FILES, "-j", j).stdout for j in ("1", "3")]
    assert text[0] == text[1]


def test_shards_together_are_the_whole_run(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: Service\nmetadata: {name: x}\nspec: {ports: [{port: banana}]}\n")
    whole = json.loads(_run(*FILES, str(broken), "-o", "json").stdout)
    shards = [_run(*FILES, str(broken), "--shard", f"{i}/3", "-o", "json") for i in (1, 2, 3)]
    docs = [json.loads(s.stdout) if s.stdout else {"results": [], "errors": []} for s in shards]
    key = lambda r: (r["workload"], r["service"], r["property"])  # noqa: E731
    assert sorted(map(key, (r for d in docs for r in d["results"]))) == sorted(map(key, whole["results"]))
    assert docs[0]["errors"] == whole["errors"] and not docs[1]["errors"] and not docs[2]["errors"]
    assert shards[0].returncode == 2
    bad = _run(*FILES, "--shard", "4/3")
    assert bad.returncode == 2 and "1 <= I <= N" in bad.stderr
