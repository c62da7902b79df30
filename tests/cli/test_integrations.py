"""The GitHub Action and the pre-commit hooks, exercised as far as this machine allows."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _action() -> dict:
    return yaml.safe_load((ROOT / "action.yml").read_text())


def test_action_is_a_composite_action_with_documented_inputs() -> None:
    action = _action()
    assert action["runs"]["using"] == "composite"
    for name, spec in action["inputs"].items():
        assert spec.get("description"), name
    steps = {s.get("name", s.get("uses")): s for s in action["runs"]["steps"]}
    assert "actions/setup-python@v5" in steps
    upload = steps["Upload SARIF"]
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert "inputs.upload-sarif == 'true'" in upload["if"]
    assert steps["Gate"]["run"].strip() == 'exit "$ZDV_CODE"'


def _run_step(tmp_path: Path, **inputs: str) -> tuple[int, Path, Path]:
    """Run the action's 'Run zdverify' script the way the runner does (bash, env from inputs)."""
    step = next(s for s in _action()["runs"]["steps"] if s.get("name") == "Run zdverify")
    output, summary = tmp_path / "github_output", tmp_path / "summary.md"
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
           "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)}
    defaults = {k: str(v.get("default", "")) for k, v in _action()["inputs"].items()}
    for key, value in {**defaults, **inputs}.items():
        env[f"ZDV_{key.upper().replace('-', '_')}"] = value
    env["ZDV_SARIF"] = env.pop("ZDV_SARIF_FILE")
    env["ZDV_MARKDOWN"] = env.pop("ZDV_MARKDOWN_FILE")
    p = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stderr  # the step itself never fails; the Gate step does
    code = int(output.read_text().split("exit-code=")[-1].split()[0])
    return code, output, summary


def test_action_run_step_writes_reports_and_hands_the_exit_code_to_the_gate(tmp_path: Path) -> None:
    shutil.copy(ROOT / "examples" / "no-prestop.yaml", tmp_path / "web.yaml")
    code, _, summary = _run_step(tmp_path, paths="web.yaml", format="github")
    assert code == 1
    assert (tmp_path / "zdverify.sarif").exists()
    assert "termination" in summary.read_text()
    code, _, _ = _run_step(tmp_path, paths="web.yaml", **{"soft-fail": "true"})
    assert code == 0


def test_pre_commit_hooks_are_serial_and_filter_yaml() -> None:
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert hooks["zdverify"]["require_serial"] and hooks["zdverify"]["types_or"] == ["yaml"]
    assert "--allow-empty" in hooks["zdverify"]["entry"] and "--context ." in hooks["zdverify"]["entry"]
    assert hooks["zdverify-all"]["pass_filenames"] is False and hooks["zdverify-all"]["always_run"]


@pytest.mark.skipif(shutil.which("pre-commit", path=str(BIN)) is None, reason="pre-commit not installed")
def test_pre_commit_try_repo_runs_the_hook(tmp_path: Path) -> None:
    """pre-commit installs zdverify from this repository into its own environment and runs
    the per-file hook on a Deployment + Service: the counterexample fails the commit."""
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy(ROOT / "examples" / "no-prestop.yaml", repo / "web.yaml")
    (repo / "values.yaml").write_text("replicaCount: 3\n")  # unrelated YAML is fine
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "."], cwd=repo, check=True)

    def hook(files: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "pre-commit"), "try-repo", str(ROOT), "zdverify", "--files", *files],
                              cwd=repo, env=env, capture_output=True, text=True, timeout=600)

    p = hook(["web.yaml", "values.yaml"])
    assert p.returncode == 1 and "COUNTEREXAMPLE  termination" in p.stdout, p.stdout + p.stderr
    p = hook(["values.yaml"])
    assert p.returncode == 0, p.stdout + p.stderr
    # split files: the Deployment changed alone is still checked with its Service (--context .)
    deployment, service = (repo / "web.yaml").read_text().split("\n---\n")
    (repo / "web.yaml").write_text(deployment + "\n")
    (repo / "service.yaml").write_text(service)
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    p = hook(["web.yaml"])
    assert p.returncode == 1 and "COUNTEREXAMPLE  termination" in p.stdout, p.stdout + p.stderr
