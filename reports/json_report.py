"""The machine-readable report; the contract is documented in docs/json-format.md.

Keys appear in a fixed, documented order (not sorted), enum values are their lowercase
strings, and the output is indented by two spaces and ends in a newline, so the same
Report always renders to the same bytes. Within a major version fields may be added, never renamed or removed.
"""
from __future__ import annotations

import json
from typing import Any

from zdverify import __version__
from zdverify.model.source import InputProblem, Loc
from zdverify.model.verdict import Assumption, Blame, Fact, Likelihood, Report, Result, Schedule, Step


def render_json(report: Report) -> str:
    """The report as a JSON document ending in a newline."""
    document = {
        "zdverify": __version__,
        "verdict": report.verdict.value,
        "nodes": report.nodes,
        "k8s_version": report.k8s_version,
        "results": [_result(r) for r in report.results],
        "notes": [n.text for n in report.notes],
        "errors": [_error(e) for e in report.errors],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _error(problem: InputProblem) -> dict[str, Any]:
    loc = _location(problem.loc)
    return {"file": loc["file"] if loc else None, "line": loc["line"] if loc else None, "message": problem.message}


def _location(loc: Loc | None) -> dict[str, Any] | None:
    return None if loc is None else {"file": loc.file, "line": loc.line}


def _result(result: Result) -> dict[str, Any]:
    return {
        "property": result.property.value,
        "workload": result.workload,
        "service": result.service,
        "port": result.port,
        "verdict": result.verdict.value,
        "cause": result.cause.value if result.cause else None,
        "summary": result.summary,
        "why": result.why,
        "fix": result.fix,
        "assumptions": [_assumption(a) for a in result.assumptions],
        "blame": [_blame(b) for b in result.blame],
        "trace": [_step(s) for s in result.trace],
        "source": _location(result.source),
        "suppressed": result.suppressed,
        "suppressed_by": _location(result.suppressed_by),
        "rule": result.property.rule_id,
        "discouraged": [_blame(b) for b in result.discouraged],
        "rests_on": None if result.rests_on is None else [_fact(f) for f in result.rests_on],
        "vacuous": result.vacuous,
        "likelihood": None if result.likelihood is None else likelihood_json(result.likelihood),
        "schedule": None if result.schedule is None else _schedule(result.schedule),
        "fix_edits": [{"path": e.path, "value": e.value, "replaces": e.replaces} for e in result.fix_edits],
        "fix_schedule": None if result.fix_schedule is None else _schedule(result.fix_schedule),
    }


def _schedule(s: Schedule) -> dict[str, Any]:
    return {
        "pods": [{"name": p.name, "old": p.old, "node": p.node, "created": p.created, "listening": p.listening,
                  "ready": p.ready, "deleted": p.deleted, "sigterm": p.sigterm, "closed": p.closed,
                  "unready": p.unready, "exited": p.exited, "sigkill": p.sigkill, "target_in": p.target_in,
                  "target_out": p.target_out} for p in s.pods],
        "applies": [{"node": a.node, "t": a.t, "pod": a.pod, "change": a.change} for a in s.applies],
        "load_balancer": [{"node": h.node, "phase": h.phase, "answer": h.answer, "initially": h.initially,
                           "changes": [{"t": t, "healthy": ok} for t, ok in h.changes]} for h in s.load_balancer],
        "request": s.request,
        "horizon": s.horizon,
        "nodes": list(s.nodes),
        "fallback": s.fallback,
        "violation": {"t": s.violation_t, "end": s.violation_end, "node": s.violation_node, "pod": s.violation_pod,
                      "entry": s.entry, "local": s.entry_local, "ip_targets": s.entry_ip,
                      "property": s.violation_property},
        "checks": {"interval": s.lb_checks[0], "timeout": s.lb_checks[1], "healthy": s.lb_checks[2],
                   "unhealthy": s.lb_checks[3], "fail_open": s.fail_open},
        "keep_alive": None if s.keep_alive is None else {"idle": s.keep_alive[0],
                                                         "client_idle_timeout": s.keep_alive[1]},
    }


def likelihood_json(x: Likelihood) -> dict[str, Any]:
    """A counterexample's likelihood (docs/json-format.md; SARIF result properties alike)."""
    return {"failed": x.failed, "runs": x.runs, "share": round(x.share, 4), "low": round(x.low, 4),
            "high": round(x.high, 4), "seed": x.seed, "distribution": x.distribution}


def _fact(fact: Fact) -> dict[str, Any]:
    loc = _location(fact.loc)
    return {"key": fact.key, "text": fact.text, "file": loc["file"] if loc else None, "line": loc["line"] if loc else None}


def _assumption(assumption: Assumption) -> dict[str, Any]:
    return {
        "key": assumption.key,
        "value": assumption.value,
        "origin": assumption.origin,
        "note": assumption.note,
        "source": _location(assumption.source),
    }


def _blame(blame: Blame) -> dict[str, Any]:
    return {"file": blame.loc.file, "line": blame.loc.line, "field": blame.field, "why": blame.why}


def _step(step: Step) -> dict[str, Any]:
    return {
        "t": step.t,
        "component": step.component.value,
        "where": step.where,
        "event": step.kind.value,
        "text": step.text,
        "source": _location(step.source),
        "pod": step.pod,
    }
