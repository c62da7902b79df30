"""CLI error paths: located ``error:`` lines on stderr, exit 2, nothing on stdout, never a
traceback. Most run the CLI in a subprocess; exit-code mapping and internal errors run in
process with a stand-in ``verify``."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from zdverify import cli
from zdverify.model.assumptions import DEFAULT_K8S_VERSION
from zdverify.model.verdict import Note, NoteKind, Report, Result, Verdict
from builtin_properties import builtin_by_slug

WEB = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  strategy:
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 30
      containers:
      - name: web
        ports: [{name: http, containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: http
"""


def run(
    *args: str, cwd: Path, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "zdverify", *args],
        cwd=cwd,
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
    )


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def line_of(fragment: str, text: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


def edit(old: str, new: str, text: str = WEB) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def assert_input_error(result: subprocess.CompletedProcess[str], prefix: str, *fragments: str) -> None:
    """Exit 2, one located ``error:`` line first on stderr, empty stdout, no traceback."""
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert "internal error" not in result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith(prefix), result.stderr
    for fragment in fragments:
        assert fragment in first, result.stderr


def assert_usage_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


# ---------------------------------------------------------------- manifests (need the search module)


def test_malformed_yaml(tmp_path: Path) -> None:
    write(tmp_path, "bad.yaml", "apiVersion: v1\nkind: [Service\nmetadata: {name: x}\n")
    assert_input_error(run("bad.yaml", cwd=tmp_path), "bad.yaml:", ": error: YAML syntax error")


def test_duplicate_key(tmp_path: Path) -> None:
    text = edit("  replicas: 2\n", "  replicas: 2\n  replicas: 3\n")
    write(tmp_path, "dup.yaml", text)
    line = line_of("replicas: 3", text)
    assert_input_error(
        run("dup.yaml", cwd=tmp_path), f"dup.yaml:{line}: error: ", 'duplicate key "replicas"'
    )


def test_grace_period_must_be_an_integer(tmp_path: Path) -> None:
    text = edit("terminationGracePeriodSeconds: 30", 'terminationGracePeriodSeconds: "sixty"')
    write(tmp_path, "grace.yaml", text)
    line = line_of("sixty", text)
    assert_input_error(
        run("grace.yaml", cwd=tmp_path), f"grace.yaml:{line}: error: ", "terminationGracePeriodSeconds", "integer"
    )


def test_surge_and_unavailable_both_zero(tmp_path: Path) -> None:
    text = edit("maxSurge: 1", "maxSurge: 0")
    write(tmp_path, "zero.yaml", text)
    line = line_of("maxUnavailable: 0", text)
    assert_input_error(
        run("zero.yaml", cwd=tmp_path), f"zero.yaml:{line}: error: ", "maxSurge and maxUnavailable cannot both be 0"
    )


def test_unknown_named_target_port(tmp_path: Path) -> None:
    text = edit("targetPort: http", "targetPort: grpc")
    write(tmp_path, "port.yaml", text)
    line = line_of("targetPort: grpc", text)
    assert_input_error(
        run("port.yaml", cwd=tmp_path), f"port.yaml:{line}: error: ", 'targetPort "grpc" names no container port'
    )


def test_nonexistent_path(tmp_path: Path) -> None:
    assert_input_error(
        run("missing.yaml", cwd=tmp_path), "error: missing.yaml: no such file or directory"
    )


def test_malformed_stdin_is_located_with_the_stdin_name(tmp_path: Path) -> None:
    bad = "apiVersion: v1\nkind: Service\nmetadata: {name: x\n"
    assert_input_error(run("-", cwd=tmp_path, stdin=bad), "<stdin>:", ": error: YAML syntax error")
    named = run("-", "--stdin-filename", "k8s/web.yaml", cwd=tmp_path, stdin=bad)
    assert_input_error(named, "k8s/web.yaml:", ": error: YAML syntax error")


def test_piped_stdin_without_a_path_is_read(tmp_path: Path) -> None:
    assert_input_error(run(cwd=tmp_path, stdin="a: [1\n"), "<stdin>:", ": error: YAML syntax error")


def test_nothing_to_verify(tmp_path: Path) -> None:
    write(tmp_path, "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: b}\n")
    assert_input_error(run("cm.yaml", cwd=tmp_path), "cm.yaml:1: error: nothing to verify: ")


def test_nothing_to_verify_lists_the_notes(tmp_path: Path) -> None:
    lone = WEB.split("---\n")[0]
    write(tmp_path, "lone.yaml", lone)
    result = run("lone.yaml", cwd=tmp_path)
    assert_input_error(result, "lone.yaml:1: error: nothing to verify: no workload in the input is selected by a "
                               "Service")
    assert "Deployment/default/web: no Service selects its pods" in result.stderr


def test_nothing_to_verify_says_when_a_selected_workload_could_not_be_checked(tmp_path: Path) -> None:
    """A workload the model leaves unverified (here: OnDelete) is not 'unselected'."""
    write(tmp_path, "sts.yaml", WEB.replace("kind: Deployment", "kind: StatefulSet", 1).replace(
        "  strategy:\n    rollingUpdate:\n      maxSurge: 1\n      maxUnavailable: 0\n",
        "  serviceName: web\n  updateStrategy: {type: OnDelete}\n", 1))
    result = run("sts.yaml", cwd=tmp_path)
    assert_input_error(result, "sts.yaml:1: error: nothing to verify: no workload selected by a Service could be "
                               "checked")
    assert "updateStrategy OnDelete" in result.stderr


# ---------------------------------------------------------------- flags (independent of the search)


def test_nodes_must_be_positive(tmp_path: Path) -> None:
    write(tmp_path, "web.yaml", WEB)
    assert_usage_error(run("web.yaml", "--nodes", "0", cwd=tmp_path), "--nodes", "Usage:")


def test_assume_unknown_key(tmp_path: Path) -> None:
    write(tmp_path, "web.yaml", WEB)
    result = run("web.yaml", "--assume", "badkey=1s", cwd=tmp_path)
    assert_input_error(result, "error: --assume: unknown bound 'badkey'", "app-startup")


def test_assume_bad_duration(tmp_path: Path) -> None:
    write(tmp_path, "web.yaml", WEB)
    result = run("web.yaml", "--assume", "app-startup=5x", cwd=tmp_path)
    assert_input_error(result, "error: --assume app-startup: ", "'5x'")


def test_assume_without_equals_is_a_usage_error(tmp_path: Path) -> None:
    write(tmp_path, "web.yaml", WEB)
    assert_usage_error(run("web.yaml", "--assume", "app-startup", cwd=tmp_path), "KEY=RANGE", "Usage:")


def test_bad_k8s_version(tmp_path: Path) -> None:
    write(tmp_path, "web.yaml", WEB)
    result = run("web.yaml", "--k8s-version", "banana", cwd=tmp_path)
    assert_input_error(result, "error: --k8s-version: ", "'banana'")


def test_bad_flags_are_reported_before_stdin_is_parsed(tmp_path: Path) -> None:
    result = run("-", "--k8s-version", "banana", cwd=tmp_path, stdin="a: [1\n")
    assert_input_error(result, "error: --k8s-version: ")


def test_unknown_format_is_a_usage_error(tmp_path: Path) -> None:
    assert_usage_error(run("x.yaml", "-o", "xml", cwd=tmp_path), "--format", "Usage:")


def test_stdin_twice_is_a_usage_error(tmp_path: Path) -> None:
    assert_usage_error(run("-", "-", cwd=tmp_path, stdin="a: 1\n"), "more than once")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_no_path_and_a_terminal_on_stdin_is_a_usage_error(tmp_path: Path) -> None:
    import pty

    controller, terminal = pty.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "zdverify"], cwd=tmp_path, stdin=terminal,
            capture_output=True, text=True, timeout=60,
        )
    finally:
        os.close(controller)
        os.close(terminal)
    assert_usage_error(result, "no input", "Usage:")


def test_help_shows_examples_and_defaults(tmp_path: Path) -> None:
    result = run("--help", cwd=tmp_path)
    assert result.returncode == 0
    for text in ("Examples:", "zdverify deploy.yaml --nodes 3", "helm template . | zdverify -",
                 "zdverify k8s/ -o json", f"[default: {DEFAULT_K8S_VERSION}]", "--assume", "Exit codes:"):
        assert text in result.stdout


def test_version(tmp_path: Path) -> None:
    import zdverify

    result = run("--version", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == f"zdverify {zdverify.__version__}"


# ---------------------------------------------------------------- in process: exit codes and internal errors

def result(verdict: Verdict) -> Result:
    return Result(builtin_by_slug("startup"), "Deployment/default/web", "Service/default/web", verdict, "summary")


def invoke_with(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, outcome: Report | Exception, *args: str):  # type: ignore[no-untyped-def]
    def fake_verify(*_args: object, **_kwargs: object) -> Report:
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setattr(cli, "verify", fake_verify)
    write(tmp_path, "web.yaml", WEB)
    return CliRunner().invoke(cli.main, [str(tmp_path / "web.yaml"), *args])


@pytest.mark.parametrize(
    ("verdicts", "code"),
    [
        ((Verdict.PROVED, Verdict.PROVED), 0),
        ((Verdict.PROVED, Verdict.COUNTEREXAMPLE, Verdict.INCONCLUSIVE), 1),
        ((Verdict.PROVED, Verdict.INCONCLUSIVE), 3),
    ],
)
def test_exit_codes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, verdicts: tuple[Verdict, ...], code: int) -> None:
    report = Report(tuple(result(v) for v in verdicts), nodes=3, k8s_version="1.34")
    outcome = invoke_with(monkeypatch, tmp_path, report)
    assert outcome.exit_code == code
    assert outcome.stdout.splitlines()[-1].endswith("(--nodes 3, Kubernetes 1.34)")
    as_json = invoke_with(monkeypatch, tmp_path, report, "-o", "json")
    assert as_json.exit_code == code and as_json.stdout.startswith('{\n  "zdverify"')


def test_empty_report_is_nothing_to_verify(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    note = Note(NoteKind.UNSELECTED, "Service/default/db: selects no workload in the input")
    outcome = invoke_with(monkeypatch, tmp_path, Report((), (note,)))
    assert outcome.exit_code == 2 and outcome.stdout == ""
    assert ": error: nothing to verify: " in outcome.stderr.splitlines()[0]
    assert "Service/default/db: selects no workload in the input" in outcome.stderr


def test_internal_error_has_no_traceback_unless_debug(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    outcome = invoke_with(monkeypatch, tmp_path, RuntimeError("boom"))
    assert outcome.exit_code == 2 and outcome.stdout == ""
    assert outcome.stderr.startswith("internal error: RuntimeError: boom")
    assert "Traceback" not in outcome.stderr
    debug = invoke_with(monkeypatch, tmp_path, RuntimeError("boom"), "--debug")
    assert debug.exit_code == 2 and "Traceback" in debug.stderr and "internal error: RuntimeError: boom" in debug.stderr


def test_errors_in_some_documents_are_all_reported_beside_the_rest(tmp_path: Path) -> None:
    """A repository with two bad documents: both located on stderr and in the report, the
    good workload still verified, every --report written, exit 2."""
    (tmp_path / "k8s").mkdir()
    write(tmp_path / "k8s", "web.yaml", WEB)
    bad = write(tmp_path / "k8s", "bad.yaml", edit("replicas: 2", "replicas: two", WEB) + "---\nkind: [\n")
    p = run("k8s", "-o", "json", "--report", "sarif=out.sarif", "--report", "text=out.txt", cwd=tmp_path)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    doc = json.loads(p.stdout)
    assert {r["workload"] for r in doc["results"]} == {"Deployment/default/web"}
    assert doc["errors"] == [
        {"file": str(Path("k8s") / "bad.yaml"), "line": 5, "message": "spec.replicas: expected an integer, got string \"two\""},
        {"file": str(Path("k8s") / "bad.yaml"), "line": 28, "message": doc["errors"][1]["message"]},
    ]
    assert "YAML syntax error" in doc["errors"][1]["message"]
    assert p.stderr.splitlines() == [f"{e['file']}:{e['line']}: error: {e['message']}" for e in doc["errors"]]
    sarif = json.loads((tmp_path / "out.sarif").read_text())
    notes = sarif["runs"][0]["invocations"][0]
    assert notes["executionSuccessful"] is False
    assert [n["level"] for n in notes["toolExecutionNotifications"]][:2] == ["error", "error"]
    assert "Input errors (2;" in (tmp_path / "out.txt").read_text()
    assert bad.exists()


def test_errors_and_nothing_else_verified_write_nothing(tmp_path: Path) -> None:
    write(tmp_path, "bad.yaml", edit("replicas: 2", "replicas: two", WEB))
    p = run("bad.yaml", "--report", "json=r.json", cwd=tmp_path)
    assert p.returncode == 2 and p.stdout == "" and not (tmp_path / "r.json").exists()
    assert p.stderr.startswith("bad.yaml:5: error: spec.replicas")


def test_context_pairs_a_changed_file_with_its_service_elsewhere_and_reports_only_it(tmp_path: Path) -> None:
    deployment, service = WEB.split("---\n")
    write(tmp_path, "deployment.yaml", deployment)
    write(tmp_path, "service.yaml", service)
    write(tmp_path, "other.yaml", edit("name: web}", "name: other}", WEB.replace("app: web", "app: other")))
    write(tmp_path, "broken.yaml", "kind: [\n")
    alone = run("deployment.yaml", "--allow-empty", "-o", "json", cwd=tmp_path)
    assert alone.returncode == 0 and json.loads(alone.stdout)["results"] == []
    p = run("deployment.yaml", "--context", ".", "-o", "json", cwd=tmp_path)
    assert p.returncode == 1, p.stderr
    doc = json.loads(p.stdout)
    assert {(r["workload"], r["service"]) for r in doc["results"]} == {("Deployment/default/web", "Service/default/web")}
    assert doc["errors"] == [] and any("--context files not shown" in n for n in doc["notes"])


def test_short_version_help_and_usage_errors_speak_of_the_command_the_user_typed(tmp_path: Path) -> None:
    assert run("-V", cwd=tmp_path).stdout == run("--version", cwd=tmp_path).stdout
    assert run("-V", cwd=tmp_path).stdout.startswith("zdverify ")
    bad = run("--bogus", cwd=tmp_path)
    assert bad.returncode == 2 and "zdverify verify" not in bad.stderr and "Try 'zdverify --help'" in bad.stderr
    help_text = " ".join(run("--help", cwd=tmp_path).stdout.split())
    assert help_text.startswith("Usage: zdverify [OPTIONS] [PATH]...") and "DaemonSet and StatefulSet" in help_text


def test_stdin_on_a_terminal_says_it_waits_for_input(tmp_path: Path) -> None:
    import pty
    master, slave = pty.openpty()
    try:
        p = subprocess.Popen([sys.executable, "-m", "zdverify", "-"], cwd=tmp_path, stdin=slave,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        os.write(master, b"\x04")  # Ctrl-D: end of input on a terminal
        _, err = p.communicate(timeout=60)
    finally:
        os.close(master)
        os.close(slave)
    assert "reading manifests from stdin" in err and "Ctrl-D" in err
    assert p.returncode == 2  # nothing to verify
