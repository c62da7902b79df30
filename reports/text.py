"""The human-readable report: one line per result, then the evidence behind each verdict.

Layout (colour codes only when ``color`` is set)::

    PROVED          startup      Deployment/default/web  Service/default/web  <summary>
    COUNTEREXAMPLE  termination  Deployment/default/api  Service/default/api  <summary>

    Counterexample: termination — no request reaches a pod after it stopped serving
      Deployment/default/api → Service/default/api  (api.yaml:3)
      why: <why>
      trace:
        1. t=0.00s  deployment-controller           rollout starts         (api.yaml:3)
        2. t=0.40s  kube-proxy/node-2               ...
      blame:
        api.yaml:21  spec.template.spec.containers[0].lifecycle: why
      fix:
        <fix, one line per line>

    Assumptions (the proofs above rest on these):
      app-startup = 0s..10s  [default]  container started -> application accepts connections

    Not verified:
      - Deployment/default/worker: no Service selects its pods; left unverified

    1 proved, 1 counterexample, 0 inconclusive (--nodes 3, Kubernetes 1.34)

The renderer reads the finished :class:`Report` only; it derives nothing from the model.
"""
from __future__ import annotations

from typing import Iterable, Sequence

from zdverify.model.source import escape_controls
from zdverify.model.verdict import Assumption, Blame, Fact, Finding, Note, Report, Result, Step, Verdict

_RESET = "\x1b[0m"
_BOLD = "1"
_DIM = "2"
_ALIGN_VALUES_UP_TO = 24  # longer assumption values overflow instead of widening the column


def _verdict_style(verdict: Verdict) -> str:
    match verdict:
        case Verdict.PROVED:
            return "32"  # green
        case Verdict.COUNTEREXAMPLE:
            return "1;31"  # bold red
        case Verdict.INCONCLUSIVE:
            return "33"  # yellow


def render_text(report: Report, color: bool = False) -> str:
    """The whole report as text ending in a newline."""
    sections = [
        _headlines(report, color),
        _results_table(report.results, color),
        *(_counterexample(f.first, color) + _also(f) for f in report.findings),
        *(_inconclusive(r, color) for r in _with(report.results, Verdict.INCONCLUSIVE)),
        _suppressed(report.results, color),
        _rests_on(_with(report.results, Verdict.PROVED), color),
        _assumptions(_with(report.results, Verdict.PROVED), color),
        _notes(report.notes, color),
        _errors(report, color),
        [_summary_line(report)],
    ]
    text = "\n\n".join("\n".join(lines) for lines in sections if lines) + "\n"
    # no line a manifest's value made can pass for a CI log's command (GitHub's start with "::")
    return "\n".join(" " + line if line.startswith("::") else line for line in text.split("\n"))


def _paint(text: str, style: str, color: bool) -> str:
    return f"\x1b[{style}m{text}{_RESET}" if color and text else text


def _with(results: Iterable[Result], verdict: Verdict) -> list[Result]:
    """Active (not suppressed) results with ``verdict``."""
    return [r for r in results if r.verdict is verdict and r.suppressed is None]


def _label(result: Result) -> str:
    if result.suppressed is not None:
        return "SKIPPED"
    return "VACUOUS" if result.vacuous else result.verdict.value.upper()


def _suppressed(results: Sequence[Result], color: bool) -> list[str]:
    skipped = [r for r in results if r.suppressed is not None]
    if not skipped:
        return []
    lines = [_paint("Suppressed (reported, not counted):", _BOLD, color)]
    for r in skipped:
        where = f" ({r.suppressed_by})" if r.suppressed_by else ""
        lines.append(f"  {r.property.value}  {r.workload} → {r.service}: would be {r.verdict.value}; "
                     f"reason: {r.suppressed}{where}")
    return lines


def _results_table(results: Sequence[Result], color: bool) -> list[str]:
    rows = [(_label(r), r.property.value, r.workload, r.service) for r in results]
    widths = [max((len(row[i]) for row in rows), default=0) for i in range(4)]
    lines = []
    for result, row in zip(results, rows):
        cells = [cell.ljust(width) for cell, width in zip(row, widths)]
        if result.suppressed is None:
            cells[0] = _paint(cells[0], _verdict_style(result.verdict), color)
        lines.append("  ".join([*cells, result.summary]).rstrip())
    return lines


def _heading(label: str, result: Result, color: bool) -> list[str]:
    where = f"  ({result.source})" if result.source else ""
    return [
        _paint(f"{label}: {result.property.value} — {result.property.title}", _BOLD, color),
        f"  {result.workload} → {result.service}{where}",
    ]


def _headlines(report: Report, color: bool) -> list[str]:
    """The opening summary when there is more than one finding: per property, which workloads."""
    if len(report.findings) < 2:
        return []
    lines = [_paint(f"Summary: {_count(len(report.findings), 'finding', 'findings')}", _BOLD, color)]
    for h in report.headlines:
        who = ", ".join(h.workloads)
        shared = f" — {h.reason}" if h.reason else ""
        lines.append(f"  {h.property.value}{shared}: {_count(len(h.workloads), 'workload', 'workloads')}: {who}")
    return lines


def _also(finding: Finding) -> list[str]:
    """The same finding through other Services, ports or entries."""
    if not finding.also:
        return []
    where = "; ".join(f"{r.service} port {r.port}" if r.port is not None else r.service for r in finding.also)
    return [f"  same finding (cause, blame and fix) also for: {where}"]


def _counterexample(result: Result, color: bool) -> list[str]:
    lines = _heading("Counterexample", result, color)
    if result.why:
        lines += _labelled("why", result.why)
    if result.likelihood is not None:
        lines += _labelled("how likely", result.likelihood.text)
    if result.trace:
        lines += ["  trace:", *_trace(result.trace)]
    if result.blame:
        lines += ["  blame:", *_blame(result.blame)]
    if result.fix:
        lines += _labelled("fix", result.fix)
    if result.discouraged:
        lines += ["  placement preferences this trace goes against (they only score):",
                  *_blame(result.discouraged)]
    return lines


def result_block(result: Result) -> str:
    """One result's plain-text block (heading, why, trace, blame, fix) — what the text
    report prints for it; the JUnit renderer puts the same text in its failure bodies."""
    if result.verdict is Verdict.COUNTEREXAMPLE:
        lines = _counterexample(result, False)
    elif result.verdict is Verdict.INCONCLUSIVE:
        lines = _inconclusive(result, False)
    else:
        lines = _heading("Proved", result, False)
    return "\n".join(lines) + "\n"


def _inconclusive(result: Result, color: bool) -> list[str]:
    lines = _heading("Inconclusive", result, color)
    lines += _labelled("summary", result.summary)
    if result.why:
        lines += _labelled("why", result.why)
    return lines


def _labelled(label: str, text: str) -> list[str]:
    """``label: text`` for one line; a multi-line text goes indented below the label."""
    body = text.strip("\n").splitlines()
    if len(body) == 1:
        return [f"  {label}: {body[0]}"]
    return [f"  {label}:", *(f"    {line}".rstrip() for line in body)]


def _actor(step: Step) -> str:
    return f"{step.component.value}/{step.where}" if step.where else step.component.value


def _trace(steps: Sequence[Step]) -> list[str]:
    numbers = len(str(len(steps)))
    times = [f"t={step.t:.2f}s" for step in steps]
    actors = [_actor(step) for step in steps]
    time_width = max(len(t) for t in times)
    actor_width = max(len(a) for a in actors)
    lines = []
    for i, (step, t, actor) in enumerate(zip(steps, times, actors), 1):
        line = f"    {i:>{numbers}}. {t.ljust(time_width)}  {actor.ljust(actor_width)}  {step.text}"
        lines.append(f"{line}   ({step.source})" if step.source else line.rstrip())
    return lines


def _blame(blames: Sequence[Blame]) -> list[str]:
    width = max(len(str(b.loc)) for b in blames)
    return [f"    {str(b.loc).ljust(width)}  {b.field}: {b.why}" for b in blames]


def fact_text(f: Fact) -> str:
    return f"{f.text} ({f.loc})" if f.loc is not None else f.text


def rests_on_text(r: Result) -> str:
    """What one proof needed, in words (``Result.rests_on``)."""
    if r.rests_on is None:
        return "not named (the solver's budget for it ran out)"
    if not r.rests_on:
        return "no bound or manifest value: the rollout's structure alone"
    return "; ".join(fact_text(f) for f in r.rests_on)


def _rests_on(proved: Sequence[Result], color: bool) -> list[str]:
    if not proved:
        return []
    lines = [_paint("What each proof needed (the solver's unsat core):", _BOLD, color)]
    width = max(len(r.property.value) for r in proved)
    for r in proved:
        lines.append(f"  {r.property.value.ljust(width)}  {r.workload}: {rests_on_text(r)}")
    return lines


def _unique(assumptions: Iterable[Assumption]) -> list[Assumption]:
    """Assumptions in first-seen order, each once."""
    return list(dict.fromkeys(assumptions))


def _assumptions(proved: Sequence[Result], color: bool) -> list[str]:
    if not proved:
        return []
    assumptions = _unique(a for r in proved for a in r.assumptions)
    heading = _paint("Assumptions (the proofs above rest on these):", _BOLD, color)
    if not assumptions:
        return [heading, "  (none recorded)"]
    key_width = max(len(a.key) for a in assumptions)
    value_width = max((len(a.value) for a in assumptions if len(a.value) <= _ALIGN_VALUES_UP_TO), default=0)
    origins = [f"[{a.origin} {a.source}]" if a.source else f"[{a.origin}]" for a in assumptions]
    origin_width = max(len(o) for o in origins)
    lines = [heading]
    for a, origin in zip(assumptions, origins):
        origin = origin.ljust(origin_width)
        line = f"  {a.key.ljust(key_width)} = {a.value.ljust(value_width)}  {origin}"
        lines.append(f"{line}  {_paint(a.note, _DIM, color)}" if a.note else line.rstrip())
    return lines


def _notes(notes: Sequence[Note], color: bool) -> list[str]:
    if not notes:
        return []
    return [_paint("Not verified:", _BOLD, color), *(f"  - {note.text}" for note in notes)]


def _errors(report: Report, color: bool) -> list[str]:
    if not report.errors:
        return []
    heading = f"Input errors ({len(report.errors)}; everything else was verified, the run exits 2):"
    return [_paint(heading, "1;31", color), *("  - " + escape_controls(str(e)).replace("\n", "\n    ")
                                              for e in report.errors)]


def _count(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if n == 1 else plural}"


def _summary_line(report: Report) -> str:
    proved, counterexamples, inconclusive = (
        len(_with(report.results, v)) for v in (Verdict.PROVED, Verdict.COUNTEREXAMPLE, Verdict.INCONCLUSIVE)
    )
    settings = [f"--nodes {report.nodes}"]
    if report.k8s_version:
        settings.append(f"Kubernetes {report.k8s_version}")
    skipped = sum(1 for r in report.results if r.suppressed is not None)
    errors = f", {_count(len(report.errors), 'input error', 'input errors')}" if report.errors else ""
    return (
        f"{proved} proved, {_count(counterexamples, 'counterexample', 'counterexamples')}, "
        f"{inconclusive} inconclusive{f', {skipped} suppressed' if skipped else ''}{errors}"
        f" ({', '.join(settings)})"
    )
