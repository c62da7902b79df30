"""JUnit renderer, read back with junitparser (what CI plugins resemble) and the stdlib."""
from __future__ import annotations

import re

import os
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
from junitparser import Error, Failure, JUnitXml, Skipped

from zdverify import verify
from zdverify.model.source import Loc
from zdverify.model.verdict import Report, Verdict
from zdverify.reports.text import render_text
from zdverify.reports.junit import render_junit
from zdverify.specs.registry import builtin
from test_sarif import COUNTEREXAMPLE, HAND, INCONCLUSIVE, PROVED, SVC, WEB

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


@pytest.fixture(scope="module")
def example_reports() -> dict[str, Report]:
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        return {p.name: verify([f"examples/{p.name}"]) for p in EXAMPLES}
    finally:
        os.chdir(cwd)


def cases(xml: str) -> list:
    return [case for suite in JUnitXml.fromstring(xml.encode()) for case in suite]


def test_counts_per_verdict() -> None:
    xml = render_junit(HAND)
    root = ET.fromstring(xml)
    assert root.tag == "testsuites"
    # 4 results + 1 note (a skipped "not verified" case)
    assert {k: root.get(k) for k in ("tests", "failures", "errors", "skipped")} == {
        "tests": "5", "failures": "1", "errors": "1", "skipped": "2"}
    suites = JUnitXml.fromstring(xml.encode())
    web = next(s for s in suites if s.name == WEB)
    assert (web.tests, web.failures, web.errors, web.skipped) == (4, 1, 1, 1)
    kinds = [[type(r).__name__ for r in case.result] for case in cases(xml)]
    assert kinds == [[], ["Failure"], ["Error"], ["Skipped"], ["Skipped"]]


def test_names_classnames_files_lines() -> None:
    xml_cases = cases(render_junit(HAND))
    assert [c.classname for c in xml_cases[:4]] == [f"zdverify.{WEB}"] * 4
    assert [c.name for c in xml_cases[:4]] == [
        f"startup → {SVC} (--nodes 3)", f"termination → {SVC} (--nodes 3)",
        f"stalled → {SVC} (--nodes 3)", f"no-endpoint → {SVC} (--nodes 3)",
    ]
    testcases = ET.fromstring(render_junit(HAND)).iter("testcase")
    located = [(c.get("file"), c.get("line")) for c in testcases][:4]
    assert located == [("deploy/web.yaml", "4"), ("deploy/web.yaml", "21"),
                       ("deploy/web.yaml", "4"), ("deploy/web.yaml", "21")]  # suppressed counterexample: blamed line


def test_names_stay_unique_for_several_ports_of_one_service() -> None:
    report = replace(HAND, results=(PROVED, replace(PROVED, summary="… (port 443)"), COUNTEREXAMPLE))
    names = [(c.classname, c.name) for c in cases(render_junit(report))]
    assert len(names) == len(set(names))
    assert names[1][1] == f"startup → {SVC} (--nodes 3) #2"


def test_failure_carries_summary_and_the_numbered_trace() -> None:
    (failure,) = ET.fromstring(render_junit(HAND)).iter("failure")
    assert failure.get("message") == COUNTEREXAMPLE.summary
    assert failure.get("type") == "counterexample"
    body = failure.text or ""
    # the same block the text report prints for this result
    assert body == render_text(replace(HAND, results=(COUNTEREXAMPLE,))).split("\n\n")[1] + "\n"
    assert re.search(r"1\. t=0\.00s +deployment-controller +rollout starts", body)
    assert re.search(r"2\. t=0\.25s +kubelet/node-1 +sends SIGTERM to web-old-1 +\(deploy/web\.yaml:19\)", body)
    assert "deploy/web.yaml:21  containers[web].lifecycle.preStop: no preStop hook" in body
    assert "fix:\n    lifecycle:\n      preStop:" in body


def test_error_and_skipped() -> None:
    root = ET.fromstring(render_junit(HAND))
    (error,) = root.iter("error")
    assert error.get("message") == INCONCLUSIVE.summary and error.get("type") == "inconclusive"
    skipped = list(root.iter("skipped"))
    assert skipped[0].get("message") == "suppressed: single replica by design"
    assert "deploy/web.yaml:7" in (skipped[0].text or "")
    assert skipped[1].get("message") == HAND.notes[0].text


def test_suppressed_proved_and_inconclusive_are_skipped_too() -> None:
    results = tuple(replace(r, suppressed="why not", suppressed_by=Loc("a.yaml", 1))
                    for r in (PROVED, COUNTEREXAMPLE, INCONCLUSIVE))
    suite = JUnitXml.fromstring(render_junit(Report(results)).encode())
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (3, 0, 0, 3)
    assert all(isinstance(c.result[0], Skipped) for c in cases(render_junit(Report(results))))


def test_examples(example_reports: dict[str, Report]) -> None:
    for report in example_reports.values():
        xml = render_junit(report)
        assert xml == render_junit(report)  # deterministic
        parsed = cases(xml)
        assert len(parsed) == len(report.results) + len(report.notes)
        names = [(c.classname, c.name) for c in parsed]
        assert len(names) == len(set(names))
        failures = [c for c in parsed if c.result and isinstance(c.result[0], Failure)]
        expected = [r for r in report.results if r.verdict is Verdict.COUNTEREXAMPLE and r.suppressed is None]
        assert len(failures) == len(expected)
        for case, result in zip(failures, expected):
            assert case.result[0].message == result.summary
            assert all(step.text in case.result[0].text for step in result.trace)
        errors = [c for c in parsed if c.result and isinstance(c.result[0], Error)]
        assert len(errors) == len([r for r in report.results if r.verdict is Verdict.INCONCLUSIVE])
        assert all(c.result[0].type == "inconclusive" for c in errors)


def test_invalid_xml_characters_are_replaced() -> None:
    report = Report((replace(COUNTEREXAMPLE, summary="bad \x1b[31m byte", why="nul \x00"),))
    root = ET.fromstring(render_junit(report))
    assert next(root.iter("failure")).get("message") == "bad \ufffd[31m byte"


def test_all_properties_have_one_case_each(example_reports: dict[str, Report]) -> None:
    names = [c.name for c in cases(render_junit(example_reports["no-prestop.yaml"]))]
    assert [n.split(" → ")[0] for n in names] == [p.value for p in builtin()]
