"""Text and JSON renderers over hand-built Reports."""
from __future__ import annotations

import json
import re
from dataclasses import replace

import zdverify
from zdverify.model.source import Loc
from zdverify.model.verdict import (
    Assumption,
    Blame,
    Cause,
    Component,
    EventKind,
    Note,
    NoteKind,
    Report,
    Result,
    Step,
    Verdict,
)
from zdverify.reports.json_report import render_json
from zdverify.reports.text import render_text
from builtin_properties import builtin_by_slug

WEB = "Deployment/default/web"
SVC = "Service/default/web"

STARTUP_BOUND = Assumption("app-startup", "0s..30s", "flag", "container started -> application accepts connections")
PROXY_BOUND = Assumption("kube-proxy", "0s..2s", "default", "EndpointSlice -> rules applied")

PROVED = Result(
    builtin_by_slug("startup"), WEB, SVC, Verdict.PROVED, "no request reaches a pod before it serves",
    assumptions=(STARTUP_BOUND, PROXY_BOUND), source=Loc("deploy.yaml", 2),
)
COUNTEREXAMPLE = Result(
    builtin_by_slug("termination"), WEB, SVC, Verdict.COUNTEREXAMPLE,
    "a request reaches web-old-1 after SIGTERM",
    cause=Cause.TERMINATION,
    trace=(
        Step(0.0, Component.DEPLOYMENT, "", EventKind.ROLLOUT_START, "rollout starts", Loc("deploy.yaml", 2)),
        Step(0.25, Component.KUBELET, "node-1", EventKind.SIGTERM, "SIGTERM to web-old-1", Loc("deploy.yaml", 19)),
        Step(0.4, Component.KUBE_PROXY, "node-2", EventKind.REQUEST, "routes a request to web-old-1"),
    ),
    blame=(
        Blame(Loc("deploy.yaml", 21), "spec.template.spec.containers[0].lifecycle", "no preStop delay"),
        Blame(Loc("svc.yaml", 7), "spec.ports[0]", "traffic reaches the closed listener"),
    ),
    why="kube-proxy on node-2 lags behind the EndpointSlice",
    fix="add a preStop hook:\n  lifecycle:\n    preStop: {sleep: {seconds: 5}}",
    assumptions=(PROXY_BOUND,),
)
INCONCLUSIVE = Result(
    builtin_by_slug("stalled"), WEB, SVC, Verdict.INCONCLUSIVE, "search bound exhausted",
    why="more than 100000 states; raise the bound or reduce replicas",
)
NOTES = (Note(NoteKind.UNSELECTED, "Deployment/default/worker: no Service selects its pods; left unverified"),)


def report(*results: Result) -> Report:
    return Report(results, NOTES, nodes=3, k8s_version="1.34")


FULL = report(PROVED, COUNTEREXAMPLE, INCONCLUSIVE, replace(PROVED, property=builtin_by_slug("no-endpoint")))


# ---------------------------------------------------------------- text


def test_one_aligned_line_per_result_first() -> None:
    lines = render_text(FULL).splitlines()
    table = lines[:4]
    assert [line.split()[:4] for line in table] == [
        ["PROVED", "startup", WEB, SVC],
        ["COUNTEREXAMPLE", "termination", WEB, SVC],
        ["INCONCLUSIVE", "stalled", WEB, SVC],
        ["PROVED", "no-endpoint", WEB, SVC],
    ]
    assert table[0].endswith("no request reaches a pod before it serves")
    assert len({line.index(WEB) for line in table}) == 1  # columns aligned
    assert lines[4] == ""


def test_counterexample_block() -> None:
    text = render_text(report(COUNTEREXAMPLE))
    block = text.split("\n\n")[1].splitlines()
    assert block[0] == "Counterexample: termination — " + builtin_by_slug("termination").title
    assert block[1] == f"  {WEB} → {SVC}"
    assert "  why: kube-proxy on node-2 lags behind the EndpointSlice" in block
    trace = [line for line in block if re.match(r"\s+\d+\. t=", line)]
    assert [line.split()[0] for line in trace] == ["1.", "2.", "3."]
    assert trace[0].split()[1:3] == ["t=0.00s", "deployment-controller"]  # no "/" without where
    assert trace[0].endswith("   (deploy.yaml:2)")
    assert trace[1].split()[1:3] == ["t=0.25s", "kubelet/node-1"]
    assert trace[1].endswith("(deploy.yaml:19)")
    assert trace[2].split()[1:3] == ["t=0.40s", "kube-proxy/node-2"]
    assert trace[2].endswith("routes a request to web-old-1")  # no source, no parentheses
    assert trace[0].index("rollout") == trace[2].index("routes")  # text column aligned
    blame = block[block.index("  blame:") + 1 : block.index("  fix:")]
    assert [line.split()[0] for line in blame] == ["deploy.yaml:21", "svc.yaml:7"]
    assert blame[0].endswith("spec.template.spec.containers[0].lifecycle: no preStop delay")
    assert block[block.index("  fix:") + 1 :] == [
        "    add a preStop hook:",
        "      lifecycle:",
        "        preStop: {sleep: {seconds: 5}}",
    ]


def test_long_traces_align_their_numbers() -> None:
    steps = tuple(Step(i / 10, Component.CLIENT, "", EventKind.REQUEST, f"request {i}") for i in range(12))
    cx = Result(builtin_by_slug("startup"), WEB, SVC, Verdict.COUNTEREXAMPLE, "s", trace=steps)
    trace = [line for line in render_text(report(cx)).splitlines() if re.match(r"\s+\d+\. t=", line)]
    assert len(trace) == 12
    assert trace[0].index(".") == trace[11].index(".")
    assert trace[11].split()[:2] == ["12.", "t=1.10s"]


def test_proofs_print_their_assumptions_once() -> None:
    text = render_text(FULL)
    section = text.split("Assumptions (the proofs above rest on these):\n")[1].split("\n\n")[0].splitlines()
    assert len(section) == 2  # union over both proofs, each assumption once
    assert section[0].split()[:4] == ["app-startup", "=", "0s..30s", "[flag]"]
    assert section[0].endswith("container started -> application accepts connections")
    assert section[1].split()[:4] == ["kube-proxy", "=", "0s..2s", "[default]"]


def test_no_assumptions_section_without_a_proof() -> None:
    assert "Assumptions" not in render_text(report(COUNTEREXAMPLE, INCONCLUSIVE))


def test_inconclusive_shows_summary_and_why() -> None:
    text = render_text(report(INCONCLUSIVE))
    block = text.split("\n\n")[1].splitlines()
    assert block[0].startswith("Inconclusive: stalled")
    assert "  summary: search bound exhausted" in block
    assert "  why: more than 100000 states; raise the bound or reduce replicas" in block


def test_notes_and_summary_line_close_the_report() -> None:
    text = render_text(FULL)
    assert text.endswith("\n")
    lines = text.splitlines()
    assert lines[-1] == "2 proved, 1 counterexample, 1 inconclusive (--nodes 3, Kubernetes 1.34)"
    assert lines[-4:-2] == ["Not verified:", f"  - {NOTES[0].text}"]


def test_summary_line_pluralises() -> None:
    two = report(COUNTEREXAMPLE, COUNTEREXAMPLE)
    assert render_text(two).splitlines()[-1].startswith("0 proved, 2 counterexamples, 0 inconclusive")


def test_colour_only_when_asked() -> None:
    assert "\x1b[" not in render_text(FULL)
    coloured = render_text(FULL, color=True)
    assert "\x1b[32mPROVED" in coloured and "\x1b[1;31mCOUNTEREXAMPLE" in coloured
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == render_text(FULL)


# ---------------------------------------------------------------- JSON


def test_json_top_level() -> None:
    doc = json.loads(render_json(FULL))
    assert list(doc) == ["zdverify", "verdict", "nodes", "k8s_version", "results", "notes", "errors"]
    assert doc["errors"] == []
    assert doc["zdverify"] == zdverify.__version__
    assert doc["verdict"] == "counterexample"
    assert (doc["nodes"], doc["k8s_version"]) == (3, "1.34")
    assert doc["notes"] == [n.text for n in NOTES]
    assert [r["verdict"] for r in doc["results"]] == ["proved", "counterexample", "inconclusive", "proved"]


def test_json_result_fields() -> None:
    proved, cx, unknown, _ = json.loads(render_json(FULL))["results"]
    assert list(cx) == [
        "property", "workload", "service", "port", "verdict", "cause", "summary", "why", "fix",
        "assumptions", "blame", "trace", "source", "suppressed", "suppressed_by", "rule", "discouraged", "rests_on",
        "vacuous", "likelihood", "schedule", "fix_edits", "fix_schedule",
    ]
    assert (cx["property"], cx["workload"], cx["service"], cx["cause"]) == ("termination", WEB, SVC, "termination")
    assert cx["rule"] == "ZDV002"
    assert cx["fix"].splitlines()[0] == "add a preStop hook:"
    assert cx["blame"][0] == {
        "file": "deploy.yaml", "line": 21,
        "field": "spec.template.spec.containers[0].lifecycle", "why": "no preStop delay",
    }
    assert cx["trace"][1] == {
        "t": 0.25, "component": "kubelet", "where": "node-1", "event": "sigterm",
        "text": "SIGTERM to web-old-1", "source": {"file": "deploy.yaml", "line": 19}, "pod": "",
    }
    assert cx["trace"][2]["source"] is None and cx["trace"][0]["where"] == ""
    assert cx["source"] is None
    assert proved["cause"] is None and proved["trace"] == [] and proved["blame"] == []
    assert proved["source"] == {"file": "deploy.yaml", "line": 2}
    assert proved["assumptions"][0] == {
        "key": "app-startup", "value": "0s..30s", "origin": "flag",
        "note": "container started -> application accepts connections", "source": None,
    }
    assert unknown["why"].startswith("more than 100000 states")


def test_json_is_deterministic_and_plain() -> None:
    text = render_json(FULL)
    assert text == render_json(FULL) and text.endswith("}\n")
    assert text.startswith('{\n  "zdverify": ')  # indent 2
    assert "→" not in text and "\\u" not in text


def test_json_of_an_empty_report() -> None:
    doc = json.loads(render_json(Report((), (Note(NoteKind.UNSELECTED, "nothing paired"),), nodes=1, k8s_version="1.30")))
    assert doc["results"] == [] and doc["verdict"] == "proved" and doc["nodes"] == 1
