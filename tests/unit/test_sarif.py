"""SARIF renderer: structure, and GitHub's ingestion rules checked by Microsoft's SARIF
Multitool (``validate --rule-kind "Sarif;Gh"``, installed by ``npm ci`` in tests/tools).

Without the Multitool the validation tests are skipped locally and fail on CI (env ``CI``).
"""
from __future__ import annotations

import json
import os
import stat
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import zdverify
from zdverify import verify
from zdverify.model.source import Loc
from zdverify.model.verdict import (
    Blame, Cause, Component, EventKind, Report, Result, Step, Verdict,
    Note,
    NoteKind,
)
from zdverify.reports.sarif import artifact_uri, render_sarif
from builtin_properties import builtin_by_slug
from zdverify.specs.registry import builtin

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
MULTITOOL = ROOT / "tests/tools/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"

WEB, SVC = "Deployment/default/web", "Service/default/web"
COUNTEREXAMPLE = Result(
    builtin_by_slug("termination"), WEB, SVC, Verdict.COUNTEREXAMPLE,
    "a request reaches web-old-1 after SIGTERM at t=0.40s (port 80)",
    cause=Cause.TERMINATION,
    trace=(
        Step(0.0, Component.DEPLOYMENT, "", EventKind.ROLLOUT_START, "rollout starts"),
        Step(0.25, Component.KUBELET, "node-1", EventKind.SIGTERM, "sends SIGTERM to web-old-1",
             Loc("deploy/web.yaml", 19, 9)),
        Step(0.4, Component.KUBE_PROXY, "node-2", EventKind.REQUEST, "still routes to web-old-1"),
    ),
    blame=(
        Blame(Loc("deploy/web.yaml", 21, 9), "containers[web].lifecycle.preStop", "no preStop hook"),
        Blame(Loc("deploy/web.yaml", 17, 5), "terminationGracePeriodSeconds", "30s"),
    ),
    why="kube-proxy on node-2 lags behind the EndpointSlice",
    fix="lifecycle:\n  preStop:\n    sleep: {seconds: 3}",
    source=Loc("deploy/web.yaml", 4, 1),
)
INCONCLUSIVE = Result(
    builtin_by_slug("stalled"), WEB, SVC, Verdict.INCONCLUSIVE, "not decided: state budget exhausted",
    why="state budget exhausted", source=Loc("deploy/web.yaml", 4, 1),
)
PROVED = Result(builtin_by_slug("startup"), WEB, SVC, Verdict.PROVED, "no request reaches a pod before it serves",
                source=Loc("deploy/web.yaml", 4, 1))
SUPPRESSED = replace(
    COUNTEREXAMPLE, property=builtin_by_slug("no-endpoint"), cause=Cause.NO_ENDPOINT,
    suppressed="single replica by design", suppressed_by=Loc("deploy/web.yaml", 7, 5),
)
HAND = Report((PROVED, COUNTEREXAMPLE, INCONCLUSIVE, SUPPRESSED),
              (Note(NoteKind.UNSELECTED, "Deployment/default/worker: no Service selects its pods; left unverified"),),
              nodes=3, k8s_version="1.34", properties=builtin())


def sarif(report: Report, root: Path = ROOT) -> dict[str, Any]:
    return json.loads(render_sarif(report, root=str(root)))


@pytest.fixture(scope="module")
def example_reports() -> dict[str, Report]:
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        return {p.name: verify([f"examples/{p.name}"]) for p in EXAMPLES}
    finally:
        os.chdir(cwd)


# ---------------------------------------------------------------- the validator


@pytest.fixture(scope="module")
def multitool() -> Path:
    if not MULTITOOL.is_file():
        message = f"SARIF Multitool not installed ({MULTITOOL}); run `npm ci` in tests/tools"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    mode = MULTITOOL.stat().st_mode
    if not mode & stat.S_IXUSR:  # npm install-scripts are blocked: the bit may be missing
        MULTITOOL.chmod(mode | stat.S_IXUSR)
    return MULTITOOL


def validate(tool: Path, document: str, tmp_path: Path, name: str = "report") -> list[dict[str, Any]]:
    """The Multitool's findings (results of its log) for one SARIF document."""
    target = tmp_path / f"{name}.sarif"
    target.write_text(document, encoding="utf-8")
    log = tmp_path / f"{name}.sarif-log.json"
    log.unlink(missing_ok=True)
    env = {**os.environ, "DOTNET_SYSTEM_GLOBALIZATION_INVARIANT": "1"}
    run = subprocess.run(
        # the native binary, not the npm wrapper: the wrapper passes ";" through a shell
        [str(tool), "validate", "--rule-kind", "Sarif;Gh", "--output", str(log), str(target)],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert log.is_file(), f"no validation log (exit {run.returncode}):\n{run.stdout}\n{run.stderr}"
    # The exit code is 0 even with findings: the log is the verdict.
    return json.loads(log.read_text(encoding="utf-8"))["runs"][0].get("results", [])


# SARIF2005 asks for tool.driver.informationUri; zdverify has no published home page yet,
# and an invented URL would be worse than this one warning. Every other finding counts.
ACCEPTED = {"SARIF2005"}


def problems(findings: list[dict[str, Any]]) -> list[str]:
    return [f"{f['ruleId']} {f.get('level', 'warning')}: {f['message'].get('id')} {f['message'].get('arguments')}"
            for f in findings if f.get("level", "warning") in ("error", "warning")
            and not (f["ruleId"] in ACCEPTED and f.get("level", "warning") == "warning")]


@pytest.mark.parametrize("example", [p.name for p in EXAMPLES])
def test_examples_pass_githubs_ingestion_rules(example: str, example_reports: dict[str, Report],
                                              multitool: Path, tmp_path: Path) -> None:
    findings = validate(multitool, render_sarif(example_reports[example], root=str(ROOT)), tmp_path)
    assert problems(findings) == []


def test_suppressed_inconclusive_stdin_and_outside_paths_pass(multitool: Path, tmp_path: Path) -> None:
    stdin = replace(COUNTEREXAMPLE, blame=(Blame(Loc("<stdin>", 21, 9), "lifecycle", "no preStop"),),
                    source=Loc("<stdin>", 4), workload="Deployment/default/piped")
    outside = replace(INCONCLUSIVE, source=Loc("/elsewhere/with space/x.yaml", 3, 1))
    report = replace(HAND, results=(*HAND.results, stdin, outside))
    assert problems(validate(multitool, render_sarif(report, root=str(ROOT)), tmp_path)) == []


def test_the_validator_really_checks_githubs_rules(example_reports: dict[str, Report],
                                                   multitool: Path, tmp_path: Path) -> None:
    document = sarif(example_reports["no-prestop.yaml"])
    rule = document["runs"][0]["tool"]["driver"]["rules"][1]
    del rule["fullDescription"], rule["help"]
    findings = validate(multitool, json.dumps(document), tmp_path, "broken")
    gh = [f for f in findings if f["ruleId"].startswith("GH") and f.get("level") == "error"]
    assert {f["ruleId"] for f in gh} == {"GH2012"}
    assert sorted(f["message"]["id"] for f in gh) == ["Error_MissingFullDescription", "Error_MissingHelp"]


def test_the_validator_rejects_an_absolute_path_as_uri(example_reports: dict[str, Report],
                                                       multitool: Path, tmp_path: Path) -> None:
    document = sarif(example_reports["no-prestop.yaml"])
    location = document["runs"][0]["results"][0]["locations"][0]
    location["physicalLocation"]["artifactLocation"]["uri"] = "/work/main/examples/no-prestop.yaml"
    assert problems(validate(multitool, json.dumps(document), tmp_path, "absolute"))


# ---------------------------------------------------------------- structure


def test_one_run_with_the_whole_catalogue_as_rules() -> None:
    document = sarif(HAND)
    assert document["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert document["version"] == "2.1.0"
    assert len(document["runs"]) == 1
    run = document["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "zdverify"
    assert driver["semanticVersion"] == zdverify.__version__
    assert "informationUri" not in driver  # optional; no project URL is published yet
    assert run["automationDetails"] == {"id": "zdverify/"}
    assert run["columnKind"] == "unicodeCodePoints"
    ids = [r["id"] for r in driver["rules"]]
    assert ids == sorted(i.rule_id for i in builtin())
    for rule, info in zip(driver["rules"], sorted(builtin(), key=lambda i: i.rule_id)):
        assert rule["name"] == info.name
        assert rule["shortDescription"]["text"] == info.description
        assert rule["fullDescription"]["text"] == info.explanation
        assert rule["help"]["text"] == info.remediation


def test_problems_only_with_rule_index_and_levels() -> None:
    results = sarif(HAND)["runs"][0]["results"]
    rules = sarif(HAND)["runs"][0]["tool"]["driver"]["rules"]
    # the proved result is not a problem; the suppressed counterexample stays a result
    assert [(r["ruleId"], r["level"]) for r in results] == [("ZDV002", "error"), ("ZDV005", "warning"),
                                                             ("ZDV003", "error")]
    for r in results:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
    assert "inconclusive" in results[1]["message"]["text"].lower()


def test_location_is_the_first_blamed_line_and_uris_are_relative() -> None:
    result = sarif(HAND)["runs"][0]["results"][0]
    physical = result["locations"][0]["physicalLocation"]
    assert physical == {"artifactLocation": {"uri": "deploy/web.yaml"},
                        "region": {"startLine": 21, "startColumn": 9}}
    related = [(r["physicalLocation"]["region"]["startLine"], r["message"]["text"])
               for r in result["relatedLocations"]]
    assert related == [(17, "terminationGracePeriodSeconds: 30s"), (4, f"{WEB} → {SVC}")]


def test_example_regions_point_at_the_blamed_manifest_lines(example_reports: dict[str, Report]) -> None:
    for name, report in example_reports.items():
        document = sarif(report)
        problems_ = [r for r in report.results if r.verdict is not Verdict.PROVED]
        assert len(document["runs"][0]["results"]) == len(problems_)
        for result, sarif_result in zip(problems_, document["runs"][0]["results"]):
            physical = sarif_result["locations"][0]["physicalLocation"]
            assert physical["artifactLocation"]["uri"] == f"examples/{name}"
            # an inconclusive result blames nothing: it points at the workload
            line = result.blame[0].loc.line if result.blame else result.source.line
            assert physical["region"]["startLine"] == line
            assert result.blame or sarif_result["level"] == "warning"
            text = (ROOT / "examples" / name).read_text().splitlines()[line - 1]
            assert text.strip(), "the blamed line is a real manifest line"


def test_uris_relative_to_root_with_forward_slashes(tmp_path: Path) -> None:
    inside = tmp_path / "deploy" / "web.yaml"
    assert artifact_uri(str(inside), root=str(tmp_path)) == "deploy/web.yaml"
    assert artifact_uri("<stdin>") == "stdin.yaml"
    assert artifact_uri(str(tmp_path / "a b.yaml"), root=str(tmp_path)) == "a%20b.yaml"
    # outside the root: as given; an absolute path as the only absolute URI GitHub accepts
    assert artifact_uri("/elsewhere/x.yaml", root=str(tmp_path)) == "file:///elsewhere/x.yaml"
    relative_outside = os.path.relpath(tmp_path.parent / "x.yaml")
    assert artifact_uri(relative_outside, root=str(tmp_path)) == relative_outside.replace(os.sep, "/")


def test_default_root_is_the_current_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    report = replace(HAND, results=(replace(COUNTEREXAMPLE, blame=(
        Blame(Loc(str(tmp_path / "k8s" / "web.yaml"), 21, 9), "f", "w"),)),))
    uri = sarif(report, root=tmp_path)["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert json.loads(render_sarif(report)) == sarif(report, root=tmp_path)
    assert uri["artifactLocation"]["uri"] == "k8s/web.yaml"


def test_trace_is_one_code_flow_with_a_location_for_every_step() -> None:
    result = sarif(HAND)["runs"][0]["results"][0]
    (flow,) = result["codeFlows"]
    (thread,) = flow["threadFlows"]
    steps = thread["locations"]
    assert [s["executionOrder"] for s in steps] == [1, 2, 3]
    assert all("physicalLocation" in s["location"] for s in steps)
    lines = [s["location"]["physicalLocation"]["region"]["startLine"] for s in steps]
    assert lines == [4, 19, 4]  # steps without a line of their own show at the result's line
    texts = [s["location"]["message"]["text"] for s in steps]
    assert texts[1] == "t=0.25s kubelet/node-1: sends SIGTERM to web-old-1"
    assert texts[2].startswith("t=0.40s kube-proxy/node-2: still routes to web-old-1")
    assert "no manifest line of its own" in texts[2]
    assert [s["importance"] for s in steps] == ["unimportant", "important", "essential"]


def test_example_traces_are_complete(example_reports: dict[str, Report]) -> None:
    report = example_reports["no-prestop.yaml"]
    (ce,) = [r for r in report.results if r.verdict is Verdict.COUNTEREXAMPLE]
    (result,) = sarif(report)["runs"][0]["results"]
    steps = result["codeFlows"][0]["threadFlows"][0]["locations"]
    assert len(steps) == len(ce.trace)
    for step, sarif_step in zip(ce.trace, steps):
        region = sarif_step["location"]["physicalLocation"]["region"]
        assert region["startLine"] == (step.source or ce.source).line


def test_suppressed_results_stay_with_an_in_source_suppression() -> None:
    result = sarif(HAND)["runs"][0]["results"][2]
    assert result["suppressions"] == [{
        "kind": "inSource", "justification": "single replica by design",
        "location": {"physicalLocation": {"artifactLocation": {"uri": "deploy/web.yaml"},
                                          "region": {"startLine": 7, "startColumn": 5}}},
    }]
    assert "suppressions" not in sarif(HAND)["runs"][0]["results"][0]


def test_notes_are_tool_notifications() -> None:
    (invocation,) = sarif(HAND)["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is True
    assert [n["message"]["text"] for n in invocation["toolExecutionNotifications"]] == [n.text for n in HAND.notes]


def test_deterministic(example_reports: dict[str, Report]) -> None:
    for report in example_reports.values():
        assert render_sarif(report, root=str(ROOT)) == render_sarif(report, root=str(ROOT))
    assert render_sarif(HAND, root=str(ROOT)).endswith("}\n")
