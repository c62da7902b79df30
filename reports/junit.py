"""JUnit XML for CI test-report views (GitLab, Jenkins, Azure Pipelines, CircleCI).

Layout::

    <testsuites name="zdverify" tests failures errors skipped>
      <testsuite name="Deployment/default/web" tests failures errors skipped file>
        <properties><property name="nodes" value="3"/>…</properties>
        <testcase classname="zdverify.Deployment/default/web"
                  name="termination → Service/default/web (--nodes 3)" file="deploy.yaml" line="21">
          <failure message="<summary>" type="counterexample">numbered trace, blame, fix</failure>
        </testcase>
        …
      </testsuite>
      <testsuite name="zdverify: not verified">  (only when the report has notes)
        <testcase classname="zdverify.not-verified" name="<note>"><skipped message="<note>"/></testcase>
      </testsuite>
    </testsuites>

One test case per (workload, Service, property), one suite per workload in report order.
Counterexample -> ``<failure>``, inconclusive -> ``<error>``, suppressed (whatever its
verdict) -> ``<skipped>`` with the reason, proved -> a passing test case whose
``<system-out>`` lists the assumptions the proof rests on. Names are unique within a suite
(a Service with several ports yields several results for the same triple: the later ones
get `` #2``, `` #3``). No timings, so the same Report always renders to the same bytes.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Iterable, Sequence

from zdverify.model.verdict import Report, Result, Verdict
from zdverify.reports.text import result_block

# Characters XML 1.0 cannot carry, even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def render_junit(report: Report) -> str:
    """The report as a JUnit XML document ending in a newline."""
    suites: dict[str, list[Result]] = {}
    for result in report.results:
        suites.setdefault(result.workload, []).append(result)

    root = ET.Element("testsuites", name="zdverify")
    totals = [0, 0, 0, 0]
    for workload, results in suites.items():
        suite, counts = _suite(workload, results, report)
        root.append(suite)
        totals = [a + b for a, b in zip(totals, counts)]
    if report.errors:
        suite, counts = _errors_suite(report)
        root.append(suite)
        totals = [a + b for a, b in zip(totals, counts)]
    if report.notes:
        suite, counts = _notes_suite([n.text for n in report.notes])
        root.append(suite)
        totals = [a + b for a, b in zip(totals, counts)]
    _set_counts(root, totals)
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def case_name(result: Result, nodes: int) -> str:
    """``<property> → <service> (--nodes N)``; :func:`render_junit` adds `` #k`` to repeats."""
    return f"{result.property.value} → {result.service} (--nodes {nodes})"


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _set_counts(element: ET.Element, counts: Sequence[int]) -> None:
    for key, value in zip(("tests", "failures", "errors", "skipped"), counts):
        element.set(key, str(value))


def _suite(workload: str, results: Sequence[Result], report: Report) -> tuple[ET.Element, list[int]]:
    suite = ET.Element("testsuite", name=_clean(workload))
    files = [r.source.file for r in results if r.source is not None]
    if files:
        suite.set("file", _clean(files[0]))
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", name="nodes", value=str(report.nodes))
    if report.k8s_version:
        ET.SubElement(properties, "property", name="kubernetes-version", value=_clean(report.k8s_version))

    counts = [0, 0, 0, 0]
    seen: dict[str, int] = {}
    for result in results:
        name = case_name(result, report.nodes)
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            name = f"{name} #{seen[name]}"
        suite.append(_case(result, name, workload, report))
        counts[0] += 1
        if result.suppressed is not None:
            counts[3] += 1
        elif result.verdict is Verdict.COUNTEREXAMPLE:
            counts[1] += 1
        elif result.verdict is Verdict.INCONCLUSIVE:
            counts[2] += 1
    _set_counts(suite, counts)
    return suite, counts


def _case(result: Result, name: str, workload: str, report: Report) -> ET.Element:
    case = ET.Element("testcase", classname=_clean(f"zdverify.{workload}"), name=_clean(name))
    where = result.blame[0].loc if result.blame and result.verdict is Verdict.COUNTEREXAMPLE else result.source
    if where is not None:
        case.set("file", _clean(where.file))
        case.set("line", str(where.line))
    if result.suppressed is not None:
        skipped = ET.SubElement(case, "skipped", message=_clean(f"suppressed: {result.suppressed}"))
        skipped.text = _clean(_suppressed_body(result))
    elif result.verdict is Verdict.COUNTEREXAMPLE:
        failure = ET.SubElement(case, "failure", message=_clean(result.summary), type="counterexample")
        failure.text = _clean(_counterexample_body(result))
    elif result.verdict is Verdict.INCONCLUSIVE:
        error = ET.SubElement(case, "error", message=_clean(result.summary), type="inconclusive")
        error.text = _clean(_inconclusive_body(result))
    elif result.assumptions:
        out = ET.SubElement(case, "system-out")
        out.text = _clean("\n".join(["the proof rests on:", *_assumption_lines(result)]))
    return case


def _errors_suite(report: Report) -> tuple[ET.Element, list[int]]:
    """Input errors: each an errored test case (the object could not be verified)."""
    suite = ET.Element("testsuite", name="zdverify: input errors")
    for problem in report.errors:
        case = ET.SubElement(suite, "testcase", name=_clean(str(problem.loc or "input")), classname="input")
        error = ET.SubElement(case, "error", message=_clean(problem.message), type="input-error")
        error.text = _clean(str(problem))
    counts = [len(report.errors), 0, len(report.errors), 0]
    _set_counts(suite, counts)
    return suite, counts


def _notes_suite(notes: Sequence[str]) -> tuple[ET.Element, list[int]]:
    suite = ET.Element("testsuite", name="zdverify: not verified")
    seen: dict[str, int] = {}
    for note in notes:
        seen[note] = seen.get(note, 0) + 1
        name = note if seen[note] == 1 else f"{note} #{seen[note]}"
        case = ET.SubElement(suite, "testcase", classname="zdverify.not-verified", name=_clean(name))
        ET.SubElement(case, "skipped", message=_clean(note))
    counts = [len(notes), 0, 0, len(notes)]
    _set_counts(suite, counts)
    return suite, counts


# ---------------------------------------------------------------- bodies


def _counterexample_body(result: Result) -> str:
    return result_block(result)


def _inconclusive_body(result: Result) -> str:
    return result_block(result) + "neither proved nor refuted: the gate does not pass it\n"


def _suppressed_body(result: Result) -> str:
    where = f" ({result.suppressed_by})" if result.suppressed_by else ""
    return f"suppressed{where}: {result.suppressed}\n" + result_block(result)


def _assumption_lines(result: Result) -> Iterable[str]:
    for a in result.assumptions:
        note = f"  {a.note}" if a.note else ""
        origin = f"{a.origin} {a.source}" if a.source else a.origin
        yield f"  {a.key} = {a.value}  [{origin}]{note}"
