"""GitHub Actions workflow commands: inline annotations on the pull request's diff.

One line per finding, errors first::

    ::error file=deploy/web.yaml,line=24,col=9,title=zdverify termination::<summary> — …
    ::warning file=…,line=…,title=zdverify stalled (inconclusive)::inconclusive: …
    ::notice file=…,line=…,title=zdverify startup (suppressed)::suppressed: <reason> — …

- counterexample -> ``::error`` at the first blamed line (else the result's line);
- inconclusive -> ``::warning`` at the result's line;
- suppressed (whatever its verdict) -> ``::notice`` at the suppression, so it stays visible;
- proved -> nothing;
- an input error (the object was not verified) -> ``::error`` at its line, first.

Escaping follows the runner's rules (actions/toolkit ``command.ts``): in the message ``%``,
``\\r``, ``\\n`` become ``%25``, ``%0D``, ``%0A``; in property values also ``:`` and ``,``
become ``%3A`` and ``%2C``. File paths are relative to ``root`` (default: the current
directory, which on a runner is the checkout) with forward slashes.

GitHub displays at most 10 error and 10 warning annotations per step: one annotation per
finding (the same cause, blame and fix through several Services or ports is one), at most
10 of each kind, and a plain last line says how many more there were.
"""
from __future__ import annotations

from zdverify.model.source import Loc
from zdverify.model.verdict import Report, Result, Verdict
from zdverify.reports.sarif import relative_path

DISPLAY_LIMIT = 10  # annotations of one kind GitHub shows per step


def escape_data(text: str) -> str:
    """A workflow command's message."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(kind: str, message: str, loc: Loc | None, title: str, root: str | None = None) -> str:
    """One ``::kind file=…,line=…,col=…,title=…::message`` line."""
    props: list[tuple[str, str]] = []
    if loc is not None:
        props.append(("file", relative_path(loc.file, root)))
        if loc.line >= 1:
            props.append(("line", str(loc.line)))
            if loc.col >= 1:
                props.append(("col", str(loc.col)))
    props.append(("title", title))
    rendered = ",".join(f"{key}={escape_property(value)}" for key, value in props)
    return f"::{kind} {rendered}::{escape_data(message)}"


def render_github(report: Report, *, root: str | None = None) -> str:
    """The report as workflow commands, one per line, ending in a newline (empty when
    every result is proved and unsuppressed): one annotation per finding (the same cause,
    blame and fix through several Services or ports is one), at most ``DISPLAY_LIMIT`` of
    each kind — what GitHub shows — and a last plain line naming the rest."""
    errors = [command("error", e.message, e.loc, "zdverify input error", root) for e in report.errors]
    errors += [_counterexample(f.first, report, root, f.also) for f in report.findings]
    warnings, notices = [], []
    for result in report.results:
        if result.suppressed is not None:
            notices.append(_suppressed(result, report, root))
        elif result.verdict is Verdict.INCONCLUSIVE:
            warnings.append(_inconclusive(result, report, root))
    lines = [*errors[:DISPLAY_LIMIT], *warnings[:DISPLAY_LIMIT], *notices[:DISPLAY_LIMIT]]
    hidden = [f"{len(group) - DISPLAY_LIMIT} more {kind}" for group, kind in
              ((errors, "errors"), (warnings, "warnings"), (notices, "notices")) if len(group) > DISPLAY_LIMIT]
    if hidden:
        lines.append(f"zdverify: {', '.join(hidden)} not annotated (GitHub shows {DISPLAY_LIMIT} of each kind per "
                     "step); the full list: --format sarif, json or markdown")
    return "".join(line + "\n" for line in lines)


def _pair(result: Result, report: Report) -> str:
    return f"{result.workload} → {result.service} (--nodes {report.nodes})"


def _counterexample(result: Result, report: Report, root: str | None, also: tuple[Result, ...] = ()) -> str:
    loc = result.blame[0].loc if result.blame else result.source
    lines = [f"{result.summary} — {_pair(result, report)}"]
    if also:
        lines.append("the same finding also for: " + "; ".join(
            f"{r.service} port {r.port}" if r.port is not None else r.service for r in also))
    if result.blame:
        lines.append(f"{result.blame[0].field}: {result.blame[0].why}")
    if result.why:
        lines.append(f"why: {result.why}")
    if result.likelihood is not None:
        lines.append(f"how likely: {result.likelihood.text}")
    if result.fix:
        lines.append(f"fix:\n{result.fix}")
    return command("error", "\n".join(lines), loc, f"zdverify {result.property.value}", root)


def _inconclusive(result: Result, report: Report, root: str | None) -> str:
    lines = [f"inconclusive: {result.summary} — {_pair(result, report)}",
             "neither proved nor refuted: the gate does not pass it"]
    if result.why and result.why not in result.summary:
        lines.append(f"why: {result.why}")
    return command("warning", "\n".join(lines), result.source,
                   f"zdverify {result.property.value} (inconclusive)", root)


def _suppressed(result: Result, report: Report, root: str | None) -> str:
    loc = result.suppressed_by or (result.blame[0].loc if result.blame else result.source)
    message = (f"suppressed: {result.suppressed} — {result.verdict.value}: {result.summary} — "
               f"{_pair(result, report)}")
    return command("notice", message, loc, f"zdverify {result.property.value} (suppressed)", root)
