"""SARIF 2.1.0 for GitHub code scanning (and any other SARIF viewer).

Shape (GitHub's ingestion rules, checked in the test suite with the SARIF Multitool's
``validate --rule-kind "Sarif;Gh"``):

- exactly one run, ``automationDetails.id = "zdverify/"``;
- ``tool.driver.rules``: every property of the built-in catalogue, sorted by its stable id
  (``ZDV001``..), each with a short and full description and help, whether or not this run
  found anything for it;
- one result per counterexample (level ``error``) and per inconclusive verdict (level
  ``warning``, the message says *inconclusive*). Proved verdicts are not results: SARIF
  lists problems. A suppressed result stays a result and carries
  ``suppressions: [{kind: "inSource", justification, location}]``;
- the result's location is the first blamed manifest line (else the workload's line); the
  other blamed lines and the workload are ``relatedLocations``;
- the counterexample trace is one ``codeFlow`` with one ``threadFlow``: one location per
  step, in order, each with a ``physicalLocation`` (the step's own manifest line, or the
  result's line for steps that have none, and the message says so);
- URIs are relative to ``root`` (default: the current directory) with forward slashes;
  a path outside it stays as given (an absolute one as a ``file://`` URI, the only absolute
  form GitHub accepts). Manifests read from stdin without ``--stdin-filename`` are reported
  as ``stdin.yaml``: ``<stdin>`` is not a valid URI.

No timestamps, no absolute paths of the machine (unless the input was given that way),
rules sorted, results in report order, keys in a fixed order: the same Report and root
always render to the same bytes.
"""
from __future__ import annotations

import json
import os
import posixpath
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any
from urllib.parse import quote

from zdverify import __version__
from zdverify.model.source import InputProblem, Loc
from zdverify.reports.json_report import likelihood_json
from zdverify.model.verdict import EventKind, Property, Report, Result, Step, Verdict

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
# The project's home page; GitHub shows it next to the tool name.
AUTOMATION_ID = "zdverify/"
STDIN_NAME = "<stdin>"
STDIN_URI = "stdin.yaml"
# GitHub stores at most 10,000 thread-flow locations per result (and displays 1,000).
MAX_THREAD_FLOW_LOCATIONS = 10_000

def _rules(report: Report) -> tuple[Property, ...]:
    """The checked properties (and any a result names), sorted by id."""
    props = {p.rule_id: p for p in report.properties}
    for r in report.results:
        props.setdefault(r.property.rule_id, r.property)
    return tuple(sorted(props.values(), key=lambda p: p.rule_id))
# Characters left as they are in a URI path (RFC 3986 pchar plus "/").
_URI_SAFE = "/:@!$&'()*+,;=-._~"


def render_sarif(report: Report, *, root: str | None = None) -> str:
    """The report as a SARIF 2.1.0 log (one run) ending in a newline."""
    base = os.path.abspath(root if root is not None else os.getcwd())
    run: dict[str, Any] = {
        "tool": {"driver": _driver(report)},
        "automationDetails": {"id": AUTOMATION_ID},
        "invocations": [_invocation(report, base)],
        "results": [
            _result(r, report, base)
            for r in report.results
            if r.verdict is not Verdict.PROVED
        ],
        "columnKind": "unicodeCodePoints",
        "properties": {"nodes": report.nodes, "kubernetesVersion": report.k8s_version,
                       # proofs are not results in SARIF: what each one needed is listed here
                       "proofs": [_proof(r, base) for r in report.results if r.verdict is Verdict.PROVED]},
    }
    document = {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _proof(result: Result, base: str) -> dict[str, Any]:
    """A proof and the bounds and manifest values it needed (``Result.rests_on``; null: not
    named within the solver's budget)."""
    return {
        "ruleId": result.property.rule_id, "property": result.property.value, "workload": result.workload,
        "service": result.service, "port": result.port,
        "restsOn": None if result.rests_on is None else [
            {"key": f.key, "text": f.text, **({"location": _location(f.loc, base)} if f.loc is not None else {})}
            for f in result.rests_on],
    }


# ---------------------------------------------------------------- paths


def artifact_uri(file: str, root: str | None = None) -> str:
    """The URI of an input file: relative to ``root`` (default: the current directory)
    with forward slashes and percent-encoding; a file outside ``root`` as given."""
    return quote(_path(file, os.path.abspath(root if root is not None else os.getcwd())), safe=_URI_SAFE)


def relative_path(file: str, root: str | None = None) -> str:
    """Like :func:`artifact_uri` but a plain path (no percent-encoding, no ``file://``)."""
    if file == STDIN_NAME:
        return STDIN_URI
    absolute = _absolute(file)
    base = os.path.abspath(root if root is not None else os.getcwd())
    inside = _inside(absolute, base)
    return inside if inside is not None else file.replace("\\", "/")


def _absolute(file: str) -> str:
    return os.path.normpath(os.path.join(os.getcwd(), file))


def _inside(absolute: str, base: str) -> str | None:
    try:
        rel = os.path.relpath(absolute, base)
    except ValueError:  # another drive on Windows
        return None
    rel = rel.replace(os.sep, "/")
    if rel == ".." or rel.startswith("../") or posixpath.isabs(rel):
        return None
    return rel


def _path(file: str, base: str) -> str:
    """Unencoded URI text for ``file``."""
    if file == STDIN_NAME:
        return STDIN_URI
    absolute = _absolute(file)
    inside = _inside(absolute, base)
    if inside is not None:
        return inside
    if PureWindowsPath(file).is_absolute() and not file.startswith("/"):
        return PureWindowsPath(file).as_uri()
    if os.path.isabs(file):
        return PurePosixPath(os.path.normpath(file).replace("\\", "/")).as_uri()
    return file.replace("\\", "/")


def _physical(loc: Loc, base: str) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(loc.file, base)}}
    if loc.file == STDIN_NAME:
        physical["artifactLocation"]["description"] = {
            "text": "standard input (name it with --stdin-filename)"}
    if loc.line >= 1:
        region: dict[str, Any] = {"startLine": loc.line}
        if loc.col >= 1:
            region["startColumn"] = loc.col
        physical["region"] = region
    return physical


def _location(loc: Loc, base: str, message: str | None = None, id_: int | None = None) -> dict[str, Any]:
    location: dict[str, Any] = {}
    if id_ is not None:
        location["id"] = id_
    location["physicalLocation"] = _physical(loc, base)
    if message:
        location["message"] = {"text": message}
    return location


# ---------------------------------------------------------------- driver


def _driver(report: Report) -> dict[str, Any]:
    return {
        "name": "zdverify",
        "semanticVersion": __version__,
        "rules": [_rule(info) for info in _rules(report)],
    }


def _rule(info: Property) -> dict[str, Any]:
    return {
        "id": info.rule_id,
        "name": info.name,
        "shortDescription": {"text": info.description},
        "fullDescription": {"text": info.explanation},
        "help": {"text": info.remediation},
        "defaultConfiguration": {"level": "error"},
        "properties": {
            "tags": ["reliability", "kubernetes", "zero-downtime", info.slug],
            "precision": "very-high",
            "problem.severity": "error",
            "zdverify.property": info.slug,
            "zdverify.claim": info.text,
        },
    }


def _invocation(report: Report, base: str) -> dict[str, Any]:
    """Notes (unpaired workloads, skipped objects) as tool notifications: a partial
    analysis must not look clean."""
    invocation: dict[str, Any] = {"executionSuccessful": not report.errors}
    notifications = [_error_notification(e, base) for e in report.errors]
    notifications += [{"level": "note", "message": {"text": note.text}} for note in report.notes]
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return invocation


def _error_notification(problem: InputProblem, base: str) -> dict[str, Any]:
    """An input error: the analysis of that object did not run (SARIF §3.58)."""
    notification: dict[str, Any] = {"level": "error", "message": {"text": problem.message},
                                    "descriptor": {"id": "input-error"}}
    if problem.loc is not None:
        notification["locations"] = [{"physicalLocation": _physical(problem.loc, base)}]
    return notification


# ---------------------------------------------------------------- results


def _primary(result: Result) -> Loc | None:
    """Where the result is reported: the first blamed line, else the result's own line,
    else the first step with a line, else the suppression."""
    if result.blame:
        return result.blame[0].loc
    if result.source is not None:
        return result.source
    for step in result.trace:
        if step.source is not None:
            return step.source
    return result.suppressed_by


def _message(result: Result, report: Report) -> str:
    pair = f"{result.workload} → {result.service} (--nodes {report.nodes})"
    if result.verdict is Verdict.INCONCLUSIVE:
        lines = [f"Inconclusive ({result.property.value}): {result.summary} — {pair}. "
                 "Neither proved nor refuted; the gate does not pass it."]
        if result.why and result.why != result.summary.removeprefix("not decided: "):
            lines.append(f"Why: {result.why}")
    else:
        lines = [f"Counterexample ({result.property.value}): {result.summary} — {pair}."]
        if result.why:
            lines.append(f"Why: {result.why}")
        if result.fix:
            lines.append(f"Fix:\n{result.fix}")
    if result.suppressed is not None:
        lines.append(f"Suppressed: {result.suppressed}")
    return "\n\n".join(lines)


def _result(result: Result, report: Report, base: str) -> dict[str, Any]:
    rules = _rules(report)
    info_index = [p.rule_id for p in rules].index(result.property.rule_id)
    primary = _primary(result)
    sarif: dict[str, Any] = {
        "ruleId": result.property.rule_id,
        "ruleIndex": info_index,
        "level": "error" if result.verdict is Verdict.COUNTEREXAMPLE else "warning",
        "message": {"text": _message(result, report)},
    }
    if primary is not None:
        first_why = f"{result.blame[0].field}: {result.blame[0].why}" if result.blame else None
        sarif["locations"] = [_location(primary, base, first_why)]
    related = _related(result, base)
    if related:
        sarif["relatedLocations"] = related
    if result.trace:
        sarif["codeFlows"] = [_code_flow(result, report, base, primary)]
    if result.suppressed is not None:
        suppression: dict[str, Any] = {"kind": "inSource", "justification": result.suppressed}
        if result.suppressed_by is not None:
            suppression["location"] = _location(result.suppressed_by, base)
        sarif["suppressions"] = [suppression]
    sarif["properties"] = {
        "property": result.property.value,
        "verdict": result.verdict.value,
        "workload": result.workload,
        "service": result.service,
        "nodes": report.nodes,
        # what the verdict rests on (json-format.md: the same list as the JSON result's)
        "assumptions": [{"key": a.key, "value": a.value, "origin": a.origin} for a in result.assumptions],
    }
    if result.likelihood is not None:
        sarif["properties"]["likelihood"] = likelihood_json(result.likelihood)
    return sarif


def _related(result: Result, base: str) -> list[dict[str, Any]]:
    related = [
        _location(b.loc, base, f"{b.field}: {b.why}", i)
        for i, b in enumerate(result.blame[1:], 1)
    ]
    if result.source is not None and result.blame:
        related.append(_location(result.source, base, f"{result.workload} → {result.service}",
                                 len(related) + 1))
    return related


def _actor(step: Step) -> str:
    return f"{step.component.value}/{step.where}" if step.where else step.component.value


def _importance(step: Step, blamed: set[Loc]) -> str:
    if step.kind in (EventKind.REQUEST, EventKind.VIOLATION) or step.source in blamed:
        return "essential"
    return "important" if step.source is not None else "unimportant"


def _code_flow(result: Result, report: Report, base: str, primary: Loc | None) -> dict[str, Any]:
    fallback = result.source if result.source is not None else primary
    blamed = {b.loc for b in result.blame}
    steps = result.trace[:MAX_THREAD_FLOW_LOCATIONS]
    locations = []
    for order, step in enumerate(steps, 1):
        text = f"t={step.t:.2f}s {_actor(step)}: {step.text}"
        loc = step.source
        if loc is None:
            loc = fallback
            if loc is not None:
                text += " (no manifest line of its own)"
        thread_location: dict[str, Any] = {"executionOrder": order, "importance": _importance(step, blamed)}
        thread_location["location"] = (
            _location(loc, base, text) if loc is not None else {"message": {"text": text}}
        )
        thread_location["properties"] = {"t": step.t, "component": step.component.value,
                                         "where": step.where, "event": step.kind.value}
        locations.append(thread_location)
    message = f"Counterexample trace ({len(result.trace)} steps, --nodes {report.nodes})"
    if len(result.trace) > len(steps):
        message += f"; the first {len(steps)} shown"
    return {"message": {"text": message}, "threadFlows": [{"locations": locations}]}
