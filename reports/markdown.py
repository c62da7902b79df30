"""Markdown for code review (PR comments, ``$GITHUB_STEP_SUMMARY``, a gallery file).

Layout::

    # zdverify: <gate verdict>
    <counts line>
    | verdict | property | workload | Service | summary |        one row per result
    ## Counterexample 1: <property> — <workload> → <Service>
    **What goes wrong:** <summary>.  **Why:** <why>.
    ```mermaid sequenceDiagram```   one arrow per trace step (autonumber = step number)
    ```mermaid gantt```             per-component timeline, numeric time
    trace table                     inside <details> when longer than FOLD_STEPS
    blamed manifest lines (links), smallest fix (```yaml)
    ## Inconclusive …  ## Skipped (suppressed) …  ## Assumptions …  ## Not verified …

GitHub renders fenced ``mermaid`` blocks and nothing else inline (no data: images); the
diagrams use long-standing syntax only, and ``tests/tools/mermaid-check.mjs`` parses every
one with mermaid's own parser. The renderer reads the finished :class:`Report` only; the
property catalogue supplies rule ids. Output is deterministic (no timestamps).
"""
from __future__ import annotations

import os
import re
import textwrap
from typing import Iterable, Sequence

from zdverify.model.source import Loc
from zdverify.model.verdict import (
    Assumption,
    Component,
    EventKind,
    Finding,
    Note,
    Report,
    Result,
    Step,
    Verdict,
)

FOLD_STEPS = 12  # longer traces put their step table inside <details>
COMMENT_LIMIT = 65_536  # GitHub's limit for a pull-request comment body
MAX_DIAGRAM_STEPS = 120  # mermaid's maxTextSize is 50,000 characters: show the last steps only
_GANTT_LABEL = 48  # characters of step text on a timeline bar

_GATE = {
    Verdict.PROVED: "no dropped requests proved",
    Verdict.COUNTEREXAMPLE: "a rollout can drop requests",
    Verdict.INCONCLUSIVE: "inconclusive",
}


def render_markdown(report: Report, *, link_base: str = "", root: str | None = None) -> str:
    """The whole report as GitHub-flavoured Markdown ending in a newline.

    ``link_base`` prefixes every link to a manifest line (``"../"`` for a file one directory
    down). Absolute manifest paths under ``root`` (default: the working directory) are shown
    and linked relative to it.
    """
    r = _Renderer(link_base, os.getcwd() if root is None else root)
    active = [x for x in report.results if x.suppressed is None]
    counterexamples = [x for x in active if x.verdict is Verdict.COUNTEREXAMPLE]
    inconclusive = [x for x in active if x.verdict is Verdict.INCONCLUSIVE]
    proved = [x for x in active if x.verdict is Verdict.PROVED]
    skipped = [x for x in report.results if x.suppressed is not None]
    head = [_title(report, counterexamples, inconclusive, proved, skipped), _headlines(report)]
    details = [*(r.counterexample(i, f.first) + _also(f) for i, f in enumerate(report.findings, 1)),
               *(r.inconclusive(i, x) for i, x in enumerate(inconclusive, 1))]
    tail = [r.skipped(skipped), _rests_on(proved, r), _assumptions(proved, r), _notes(report.notes),
            _errors(report, r)]
    table = r.summary_table(report.results)
    return _within_limit(head, table, details, tail, [f"{f.first.property.value} — {f.first.workload} → "
                                                      f"{f.first.service}: {f.first.summary}" for f in
                                                      report.findings] + [x.summary for x in inconclusive])


def _join(sections: Sequence[str]) -> str:
    return "\n\n".join(s.strip("\n") for s in sections if s) + "\n"


def _within_limit(head: list[str], table: str, details: list[str], tail: list[str], oneliners: list[str]) -> str:
    """The report, kept within a pull-request comment (``COMMENT_LIMIT`` characters): when
    the whole does not fit, details are shown while they fit and the rest listed one line
    each; then the tail (proofs' support, assumptions) and the table are folded to a
    pointer at the full report (``--format json`` or a ``--report`` file)."""
    whole = _join([*head, table, *details, *tail])
    if len(whole) <= COMMENT_LIMIT:
        return whole
    pointer = ("*Shortened to fit a pull-request comment ({:,} characters); the full report: "
               "`zdverify … --report markdown=zdverify.md` (or `-o json`), e.g. as the job summary.*")
    short_tail = [t for t in tail[3:] if t]  # notes and errors stay; support and assumptions go
    budget = COMMENT_LIMIT - len(_join([*head, table, *short_tail])) - 2_000
    if budget < 0:
        table, budget = ("<details><summary>Results table (too long for a comment)</summary>\n\n"
                         "Omitted; see the full report.\n\n</details>"), COMMENT_LIMIT // 2
    shown: list[str] = []
    for d in details:
        if len(d) + 2 > budget:
            break
        shown.append(d)
        budget -= len(d) + 2
    rest = oneliners[len(shown):]
    listed = []
    for line in rest:
        if budget - len(line) - 4 < 0:
            listed.append(f"- … and {len(rest) - len(listed)} more")
            break
        listed.append(f"- {md(line)}")
        budget -= len(line) + 4
    more = ["## Not shown in detail", "", *listed] if rest else []
    text = _join([*head, pointer.format(COMMENT_LIMIT), table, *shown, "\n".join(more), *short_tail])
    return text if len(text) <= COMMENT_LIMIT else text[:COMMENT_LIMIT - 40] + "\n\n*(cut at the comment limit)*\n"


def _headlines(report: Report) -> str:
    """The opening summary when there is more than one finding."""
    if len(report.findings) < 2:
        return ""
    lines = [f"**Summary:** {_count(len(report.findings), 'finding')}", ""]
    for h in report.headlines:
        shared = f" — {md(h.reason)}" if h.reason else ""
        who = ", ".join(code(w) for w in h.workloads)
        lines.append(f"- {code(h.property.value)}{shared}: {_count(len(h.workloads), 'workload')}: {who}")
    return "\n".join(lines)


def _also(finding: Finding) -> str:
    if not finding.also:
        return ""
    where = "; ".join(f"{code(x.service)} port {x.port}" if x.port is not None else code(x.service)
                      for x in finding.also)
    return f"\n\nThe same finding (cause, blamed lines and fix) also for: {where}."


# ---------------------------------------------------------------- Markdown text helpers

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<|])")


def md(text: str) -> str:
    """Inline text with Markdown/HTML metacharacters escaped (also safe in table cells)."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def code(text: str) -> str:
    """Inline code; backticks in the text get a longer fence. ``|`` is escaped for tables."""
    text = " ".join(text.split()).replace("|", "\\|")
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence}" if fence == "``" else f"`{text}`"


def sentence(text: str) -> str:
    """``text`` as a sentence: capital first letter, final full stop."""
    text = " ".join(text.split())
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?:" else text + "."


def _count(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


def _title(report: Report, cex, inc, proved, skipped) -> str:
    settings = [f"--nodes {report.nodes}"]
    if report.k8s_version:
        settings.append(f"Kubernetes {report.k8s_version}")
    counts = (f"{len(proved)} proved, {_count(len(cex), 'counterexample')}, {len(inc)} inconclusive, "
              f"{len(skipped)} skipped{f', {len(report.errors)} input error(s)' if report.errors else ''} "
              f"({', '.join(settings)})")
    gate = "input errors (see the end); the rest: " + _GATE[report.verdict] if report.errors else _GATE[report.verdict]
    return f"# zdverify: {gate}\n\n{counts}"


# ---------------------------------------------------------------- Mermaid helpers

def mermaid_text(text: str) -> str:
    """Message/alias text safe in a Mermaid sequence diagram.

    ``;`` ends a statement and ``#`` starts an entity, so both (and ``<``/``>``, which
    GitHub's sanitiser may eat, and ``%`` which can start a ``%%`` comment) become entity
    codes; the bare word ``end`` closes blocks in some Mermaid versions, so its ``e`` does too.
    """
    text = " ".join(text.split())
    text = re.sub(r"[#;<>%]", lambda m: f"#{ord(m.group())};", text)
    return re.sub(r"\bend\b", "#101;nd", text)


def gantt_text(text: str, limit: int = _GANTT_LABEL) -> str:
    """A gantt task or section name: no ``:`` (starts the task data), ``;``, ``#`` or ``%``."""
    text = " ".join(text.split())
    text = text.replace(":", " -").replace(";", ",").replace("#", "no.").replace("%", " pct")
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


class _Participants:
    """Trace actors -> Mermaid participant ids (``kp2``) with display aliases, in a fixed order:
    client, load balancer, kube-proxy per node, EndpointSlice, kubelet per node, pods,
    ReplicaSet and Deployment controllers, scheduler."""

    _ORDER = {
        Component.CLIENT: 0, Component.LOAD_BALANCER: 1, Component.KUBE_PROXY: 2,
        Component.ENDPOINTSLICE: 3, Component.KUBELET: 4, Component.APP: 5,
        Component.REPLICASET: 6, Component.DEPLOYMENT: 7, Component.DAEMONSET: 7, Component.STATEFULSET: 7,
        Component.SCHEDULER: 8, Component.KUBECTL: 9,
    }
    _PREFIX = {
        Component.CLIENT: "client", Component.LOAD_BALANCER: "lb", Component.KUBE_PROXY: "kp",
        Component.ENDPOINTSLICE: "eps", Component.KUBELET: "kl", Component.APP: "pod",
        Component.REPLICASET: "rs", Component.DEPLOYMENT: "deploy", Component.SCHEDULER: "sched",
        Component.DAEMONSET: "ds", Component.STATEFULSET: "sts",
        Component.KUBECTL: "kubectl",
    }
    _LABEL = {
        Component.CLIENT: "client", Component.LOAD_BALANCER: "load balancer",
        Component.KUBE_PROXY: "kube-proxy", Component.ENDPOINTSLICE: "EndpointSlice",
        Component.KUBELET: "kubelet", Component.APP: "pod",
        Component.REPLICASET: "ReplicaSet controller", Component.DEPLOYMENT: "Deployment controller",
        Component.DAEMONSET: "DaemonSet controller", Component.STATEFULSET: "StatefulSet controller",
        Component.SCHEDULER: "scheduler", Component.KUBECTL: "kubectl drain",
    }
    # actors that are one per cluster: their ``where`` names a target, not the actor
    _CLUSTER_WIDE = {Component.CLIENT, Component.LOAD_BALANCER, Component.ENDPOINTSLICE,
                     Component.REPLICASET, Component.DEPLOYMENT, Component.DAEMONSET, Component.STATEFULSET,
                     Component.SCHEDULER, Component.KUBECTL}

    def __init__(self, steps: Sequence[Step]) -> None:
        self.pods: list[str] = []  # pod names in first-seen order
        for s in steps:
            if s.pod and s.pod not in self.pods:
                self.pods.append(s.pod)
        keys: dict[tuple[Component, str], int] = {}
        for i, s in enumerate(steps):
            keys.setdefault(self.key(s), i)
            keys.setdefault(self.source_key(s), i)
            target = self.target_key(s)
            if target is not None:
                keys.setdefault(target, i)
        self.keys = sorted(keys, key=lambda k: (self._ORDER[k[0]], self._sort_where(k), keys[k]))
        self.ids: dict[tuple[Component, str], str] = {}
        used: set[str] = set()
        for comp, where in self.keys:
            self.ids[(comp, where)] = self._make_id(comp, where, used)

    def _sort_where(self, key: tuple[Component, str]) -> tuple:
        comp, where = key
        if comp is Component.APP:
            return (self.pods.index(where) if where in self.pods else len(self.pods), where)
        m = re.fullmatch(r"node-(\d+)", where)
        return (int(m.group(1)) if m else 1 << 30, where)

    def _make_id(self, comp: Component, where: str, used: set[str]) -> str:
        prefix = self._PREFIX[comp]
        if comp is Component.APP:
            base = f"{prefix}{self.pods.index(where) + 1}" if where in self.pods else prefix
        elif (m := re.fullmatch(r"node-(\d+)", where)):
            base = f"{prefix}{m.group(1)}"
        elif where:
            base = f"{prefix}_{re.sub(r'[^A-Za-z0-9]+', '_', where).strip('_')}"
        else:
            base = prefix
        ident, n = base, 2
        while ident in used:
            ident, n = f"{base}_{n}", n + 1
        used.add(ident)
        return ident

    def key(self, step: Step) -> tuple[Component, str]:
        """The participant that acts in ``step``."""
        if step.component in self._CLUSTER_WIDE:
            return (step.component, "")
        return (step.component, step.where)

    def mentioned_pod(self, step: Step) -> str | None:
        """The pod the step concerns, as the report records it."""
        return step.pod or None

    def target_key(self, step: Step) -> tuple[Component, str] | None:
        """Who the step's arrow points at; None for a self-arrow."""
        c, k = step.component, step.kind
        pod_owner = c in (Component.REPLICASET, Component.DAEMONSET, Component.STATEFULSET)
        pod = step.where if (c is Component.APP or pod_owner) and step.where else self.mentioned_pod(step)
        node = step.where if re.fullmatch(r"node-\d+", step.where or "") else ""
        if pod_owner and step.where:
            return (Component.APP, pod)
        if c is Component.KUBECTL and k is EventKind.SCALE_DOWN:
            return (Component.REPLICASET, "")
        if c is Component.DEPLOYMENT and k in (EventKind.SCALE_UP, EventKind.SCALE_DOWN):
            return (Component.REPLICASET, "")
        if c in (Component.KUBELET, Component.SCHEDULER) and pod:
            return (Component.APP, pod)
        if c is Component.KUBE_PROXY:
            if k is EventKind.REQUEST and pod:
                return (Component.APP, pod)
            if k in (EventKind.PROXY_ADD, EventKind.PROXY_TERMINATING, EventKind.PROXY_NOT_SERVING):
                return (Component.KUBE_PROXY, step.where)  # the EndpointSlice change arrives
            return None
        if c is Component.LOAD_BALANCER and node:
            return (Component.KUBE_PROXY, node)
        if c is Component.CLIENT:
            if pod:
                return (Component.APP, pod)
            if node:
                return (Component.KUBE_PROXY, node)
        return None

    def source_key(self, step: Step) -> tuple[Component, str]:
        """kube-proxy applying an EndpointSlice change: the arrow comes from the EndpointSlice."""
        if step.component is Component.KUBE_PROXY and step.kind in (
            EventKind.PROXY_ADD, EventKind.PROXY_TERMINATING, EventKind.PROXY_NOT_SERVING,
        ):
            return (Component.ENDPOINTSLICE, "")
        return self.key(step)

    def alias(self, key: tuple[Component, str]) -> str:
        comp, where = key
        label = self._LABEL[comp]
        if comp is Component.APP:
            return f"pod {where}" if where else label
        return f"{label}/{where}" if where else label

    def declare(self) -> list[str]:
        return [f"    participant {self.ids[k]} as {mermaid_text(self.alias(k))}" for k in self.keys]


def _seconds(t: float) -> str:
    return f"t={t:.2f}s"


def sequence_diagram(steps: Sequence[Step]) -> str:
    """One arrow per trace step, numbered like the trace table; the violation is a cross
    arrow in a shaded box."""
    first = max(0, len(steps) - MAX_DIAGRAM_STEPS)
    shown = steps[first:]
    p = _Participants(steps)
    lines = ["sequenceDiagram", f"    autonumber {first + 1}" if first else "    autonumber", *p.declare()]
    if first:
        lines.append(f"    Note over {p.ids[p.keys[0]]},{p.ids[p.keys[-1]]}: "
                     f"steps 1 to {first} are in the table below")
    for step in shown:
        src = p.ids[p.source_key(step)]
        target_key = p.target_key(step)
        dst = p.ids[target_key] if target_key is not None else src
        text = mermaid_text(f"{_seconds(step.t)} {step.text}")
        if step.kind is EventKind.VIOLATION:
            lines += ["    rect rgb(255, 220, 220)", f"    {src}-x{dst}: {text}", "    end"]
        elif step.kind in (EventKind.SIGKILL, EventKind.LIVENESS_KILL):
            lines.append(f"    {src}-x{dst}: {text}")
        elif step.kind is EventKind.REQUEST:
            lines.append(f"    {src}-->>{dst}: {text}")
        else:
            lines.append(f"    {src}->>{dst}: {text}")
    return "\n".join(lines)


def _time_unit(steps: Sequence[Step]) -> tuple[int, str, str]:
    """(milliseconds per tick, tickInterval, axisFormat) for the trace's span."""
    span = max((s.t for s in steps), default=0.0)
    whole = all(abs(s.t - round(s.t)) < 1e-9 for s in steps)
    for limit, ms, interval in ((2, 250, "250millisecond"), (5, 500, "500millisecond"),
                                (12, 1000, "1second"), (30, 2000, "2second"), (75, 5000, "5second"),
                                (150, 10000, "10second"), (400, 30000, "30second")):
        if span <= limit:
            break
    else:
        ms, interval = 60000, "1minute"
    return ms, interval, "%s" if whole or ms >= 1000 else "%s.%L"


def gantt(steps: Sequence[Step]) -> str:
    """A lane per participant; each step starts a bar that lasts until the lane's next step
    (its last bar until the end of the trace). Times are integer milliseconds since the
    rollout started (``dateFormat x``); the violation is a red (crit) bar."""
    p = _Participants(steps)
    tick_ms, interval, axis = _time_unit(steps)
    end_ms = _ms(max((s.t for s in steps), default=0.0)) + tick_ms
    lanes: dict[tuple[Component, str], list[Step]] = {}
    for s in steps:
        lanes.setdefault(p.key(s), []).append(s)
    lines = [
        "gantt",
        "    title Timeline (seconds since the rollout started)",
        "    dateFormat x",
        f"    axisFormat {axis}",
        f"    tickInterval {interval}",
        "    todayMarker off",
    ]
    for key in p.keys:
        if key not in lanes:
            continue
        lines.append(f"    section {gantt_text(p.alias(key), 40)}")
        events = _merge_same_time(lanes[key])
        for i, (t, texts, crit) in enumerate(events):
            start = _ms(t)
            stop = _ms(events[i + 1][0]) if i + 1 < len(events) else end_ms
            label = gantt_text(" + ".join(texts))
            tag = "crit, " if crit else ("done, " if i + 1 < len(events) else "active, ")
            lines.append(f"    {label} :{tag}{start}, {max(stop, start + 1)}")
    return "\n".join(lines)


def _ms(t: float) -> int:
    return int(round(t * 1000))


def _merge_same_time(steps: Sequence[Step]) -> list[tuple[float, list[str], bool]]:
    """Steps of one lane at the same instant become one bar."""
    out: list[tuple[float, list[str], bool]] = []
    for s in steps:
        crit = s.kind is EventKind.VIOLATION
        if out and abs(out[-1][0] - s.t) < 1e-9:
            t, texts, c = out[-1]
            out[-1] = (t, [*texts, s.text], c or crit)
        else:
            out.append((s.t, [s.text], crit))
    return out


# ---------------------------------------------------------------- fix: prose and YAML

_YAML_LINE = re.compile(r"^\s*(-\s+)?[A-Za-z_][\w.\-/]*:(\s+\S.*)?$|^\s*-\s+\S")


def split_fix(fix: str) -> tuple[list[str], str, list[str]]:
    """(prose before, YAML snippet, prose after). A fix without YAML lines is all prose."""
    lines = fix.strip("\n").splitlines()
    yaml_idx = [i for i, line in enumerate(lines) if _YAML_LINE.match(line) and not _prose(line)]
    if not yaml_idx:
        return lines, "", []
    a, b = yaml_idx[0], yaml_idx[-1]
    return lines[:a], textwrap.dedent("\n".join(lines[a:b + 1])), lines[b + 1:]


def _prose(line: str) -> bool:
    """A line of prose that happens to contain ``word:`` (e.g. ``in container 'nginx':``)."""
    key = line.strip().split(":", 1)[0]
    return " " in key or "'" in key


# ---------------------------------------------------------------- sections

class _Renderer:
    def __init__(self, link_base: str, root: str) -> None:
        self.link_base = link_base
        self.root = root

    def path(self, file: str) -> str:
        if os.path.isabs(file) and self.root:
            rel = os.path.relpath(file, self.root)
            if not rel.startswith(".."):
                return rel.replace(os.sep, "/")
        return file

    def link(self, loc: Loc | None) -> str:
        if loc is None:
            return ""
        path = self.path(loc.file)
        text = md(f"{path}:{loc.line}")
        if path.startswith("<"):  # <stdin>: nothing to link to
            return text
        target = (self.link_base + path).replace(" ", "%20").replace("(", "%28").replace(")", "%29")
        return f"[{text}]({target}#L{loc.line})"

    def summary_table(self, results: Sequence[Result]) -> str:
        if not results:
            return "No workload was paired with a Service: nothing was verified."
        rows = ["| verdict | property | workload | Service | summary |", "|---|---|---|---|---|"]
        for r in results:
            prop = f"{code(r.property.value)} ({r.property.rule_id})"
            if r.suppressed is not None:
                verdict = f"skipped ({r.verdict.value})"
                summary = f"suppressed: {md(r.suppressed)}"
            else:
                verdict = f"**{r.verdict.value}**" if r.verdict is not Verdict.PROVED else (
                    "proved (vacuous: the rollout can stall)" if r.vacuous else r.verdict.value)
                summary = md(r.summary)
            rows.append(f"| {verdict} | {prop} | {code(r.workload)} | {code(r.service)} | {summary} |")
        return "\n".join(rows)

    def _heading(self, label: str, result: Result) -> list[str]:
        rule = f" ({result.property.rule_id} {result.property.name})"
        where = f" Reported at {self.link(result.source)}." if result.source else ""
        return [
            f"## {label}: {result.property.value} — {md(result.workload)} → {md(result.service)}",
            "",
            f"Property: *{md(result.property.title)}*{rule}.{where}",
        ]

    def counterexample(self, n: int, r: Result) -> str:
        out = self._heading(f"Counterexample {n}", r)
        out += ["", f"**What goes wrong:** {md(sentence(r.summary))}"]
        if r.why:
            out += ["", f"**Why:** {md(sentence(r.why))}"]
        if r.likelihood is not None:
            out += ["", f"**How likely:** {md(sentence(r.likelihood.text))}"]
        if r.trace:
            out += ["", f"**Trace** ({_count(len(r.trace), 'step')}; arrow numbers are step numbers, "
                        "the red box is the failing request):", "",
                    "```mermaid", sequence_diagram(r.trace), "```", "",
                    "**Timeline** per component (a bar lasts until that component's next step):", "",
                    "```mermaid", gantt(r.trace), "```", ""]
            table = self.trace_table(r.trace)
            if len(r.trace) > FOLD_STEPS:
                out += ["<details>", f"<summary>All {len(r.trace)} steps of the trace</summary>", "",
                        table, "", "</details>"]
            else:
                out += [table]
        if r.blame:
            out += ["", "**Blamed manifest lines:**", ""]
            out += [f"- {self.link(b.loc)} {code(b.field)}: {md(b.why)}" for b in r.blame]
        if r.fix:
            out += ["", "**Smallest fix:**", *self.fix(r.fix)]
        if r.discouraged:
            out += ["", "**Placement preferences this trace goes against** (they only score, so the "
                    "scheduler may still place pods this way):", ""]
            out += [f"- {self.link(b.loc)} {md(b.why)}" for b in r.discouraged]
        return "\n".join(out)

    def trace_table(self, steps: Sequence[Step]) -> str:
        rows = ["| # | time | component | event | manifest |", "|---:|---:|---|---|---|"]
        for i, s in enumerate(steps, 1):
            actor = f"{s.component.value}/{s.where}" if s.where else s.component.value
            text = f"**{md(s.text)}**" if s.kind is EventKind.VIOLATION else md(s.text)
            rows.append(f"| {i} | {s.t:.2f}s | {md(actor)} | {text} | {self.link(s.source)} |")
        return "\n".join(rows)

    def fix(self, fix: str) -> list[str]:
        before, snippet, after = split_fix(fix)
        out: list[str] = []
        if before:
            out += ["", md(sentence(" ".join(before)))]
        if snippet:
            out += ["", "```yaml", snippet, "```"]
        if after:
            out += ["", md(" ".join(after))]
        return out

    def inconclusive(self, n: int, r: Result) -> str:
        out = self._heading(f"Inconclusive {n}", r)
        out += ["", f"**Not decided:** {md(sentence(r.summary))}"]
        if r.why:
            out += ["", f"**Reason:** {md(sentence(r.why))}"]
        out += ["", "An inconclusive result fails the gate like a counterexample: neither a proof "
                    "nor a replayable trace was found."]
        return "\n".join(out)

    def skipped(self, results: Sequence[Result]) -> str:
        if not results:
            return ""
        out = ["## Skipped (suppressed)", "",
               "These results are suppressed: reported here, not counted by the gate.", ""]
        for r in results:
            by = f" ({self.link(r.suppressed_by)})" if r.suppressed_by else ""
            out.append(f"- skipped {code(r.property.value)} {code(r.workload)} → {code(r.service)} "
                       f"(would be **{r.verdict.value}**) — suppressed: {md(r.suppressed or '')}{by}")
        return "\n".join(out)


def _unique(assumptions: Iterable[Assumption]) -> list[Assumption]:
    return list(dict.fromkeys(assumptions))


def _assumptions(proved: Sequence[Result], r: _Renderer) -> str:
    if not proved:
        return ""
    out = ["## Assumptions", "",
           f"The {_count(len(proved), 'proof')} above rest on these bounds and facts:", ""]
    assumptions = _unique(a for r in proved for a in r.assumptions)
    if not assumptions:
        return "\n".join([*out, "(none recorded)"])
    out += ["| key | value | origin | note |", "|---|---|---|---|"]
    out += [f"| {code(a.key)} | {code(a.value)} | {md(a.origin)}{' ' + r.link(a.source) if a.source else ''} "
            f"| {md(a.note)} |" for a in assumptions]
    return "\n".join(out)


def _rests_on(proved: Sequence[Result], r: _Renderer) -> str:
    """What each proof needed: the solver's unsat core of bounds and manifest values."""
    if not proved:
        return ""
    out = ["## What each proof needed", "",
           "The bounds and manifest values the solver could not do without (an unsat core; the other "
           "bounds below did not matter to that proof):", "",
           "| property | workload | rests on |", "|---|---|---|"]
    for x in proved:
        if x.rests_on is None:
            cell = "not named (the solver's budget for it ran out)"
        elif not x.rests_on:
            cell = "the rollout's structure alone"
        else:
            cell = "<br>".join(f"{md(f.text)}{' ' + r.link(f.loc) if f.loc else ''}" for f in x.rests_on)
        out.append(f"| {code(x.property.value)} | {md(x.workload)} | {cell} |")
    return "\n".join(out)


def _errors(report: Report, r: "_Renderer") -> str:
    if not report.errors:
        return ""
    lines = ["## Input errors", "",
             f"{len(report.errors)} input error(s): everything else was verified; the run exits 2.", ""]
    lines += [f"- {r.link(e.loc) + ': ' if e.loc else ''}{md(e.message)}" for e in report.errors]
    return "\n".join(lines)


def _notes(notes: Sequence[Note]) -> str:
    if not notes:
        return ""
    return "\n".join(["## Not verified", "", *(f"- {md(n.text)}" for n in notes)])
