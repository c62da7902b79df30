"""Markdown renderer: structure over hand-built Reports and the real examples."""
from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from zdverify import verify
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
from zdverify.reports.markdown import FOLD_STEPS, gantt, mermaid_text, render_markdown, sequence_diagram, split_fix
from builtin_properties import builtin_by_slug

ROOT = Path(__file__).resolve().parents[2]
WEB, SVC = "Deployment/default/web", "Service/default/web"
PROXY = Assumption("kube-proxy", "0s..2s", "default", "EndpointSlice -> rules applied")
STARTUP = Assumption("app-startup", "0s..30s", "flag", "container started -> application accepts connections")

SHORT_TRACE = (
    Step(0.0, Component.DEPLOYMENT, "", EventKind.ROLLOUT_START, "rollout starts", Loc("deploy.yaml", 2)),
    Step(0.25, Component.KUBELET, "node-1", EventKind.SIGTERM, "sends SIGTERM to web-old-1", Loc("deploy.yaml", 19),
         pod="web-old-1"),
    Step(0.25, Component.APP, "web-old-1", EventKind.LISTENER_CLOSED, "web-old-1 stops accepting connections",
         pod="web-old-1"),
    Step(0.4, Component.KUBE_PROXY, "node-2", EventKind.REQUEST, "still routes to web-old-1", pod="web-old-1"),
    Step(0.4, Component.CLIENT, "node-2", EventKind.VIOLATION, "a request entering node-2 reaches web-old-1",
         Loc("deploy.yaml", 19), pod="web-old-1"),
    Step(1.5, Component.KUBE_PROXY, "node-2", EventKind.PROXY_NOT_SERVING, "applies: web-old-1 not serving",
         pod="web-old-1"),
)
PROVED = Result(builtin_by_slug("startup"), WEB, SVC, Verdict.PROVED, "no request reaches a pod before it serves",
                assumptions=(STARTUP, PROXY), source=Loc("deploy.yaml", 2))
CEX = Result(
    builtin_by_slug("termination"), WEB, SVC, Verdict.COUNTEREXAMPLE, "a request reaches web-old-1 after SIGTERM",
    cause=Cause.TERMINATION, trace=SHORT_TRACE,
    blame=(Blame(Loc("deploy.yaml", 21), "containers[web].lifecycle.preStop", "no preStop hook"),
           Blame(Loc("svc.yaml", 7), "spec.ports[0]", "traffic reaches the closed listener")),
    why="kube-proxy on node-2 lags behind the EndpointSlice",
    fix="in container 'web':\nlifecycle:\n  preStop:\n    sleep:\n      seconds: 3",
    assumptions=(PROXY,), source=Loc("deploy.yaml", 2),
)
INCONCLUSIVE = Result(builtin_by_slug("stalled"), WEB, SVC, Verdict.INCONCLUSIVE, "search bound exhausted",
                      why="more than 100000 states; raise the bound or reduce replicas")
SUPPRESSED = replace(CEX, property=builtin_by_slug("killed-in-flight"), suppressed="accepted: see ticket 123",
                     suppressed_by=Loc("deploy.yaml", 6))


def report(*results: Result, notes=()) -> Report:
    return Report(results, notes, nodes=3, k8s_version="1.34")


def long_trace(n: int) -> tuple[Step, ...]:
    steps = [Step(i * 0.5, Component.DEPLOYMENT, "", EventKind.SCALE_UP, f"scales new ReplicaSet to {i}")
             for i in range(n - 1)]
    steps.append(Step(n * 0.5, Component.CLIENT, "node-1", EventKind.VIOLATION, "a request finds no endpoint"))
    return tuple(steps)


def hostile_report() -> Report:
    """Text full of Mermaid and Markdown metacharacters."""
    trace = (
        Step(0.0, Component.DEPLOYMENT, "", EventKind.ROLLOUT_START, "start; #1 <b>bold</b> 100% end"),
        Step(0.5, Component.KUBELET, "node:1", EventKind.SIGTERM, "SIGTERM -> pod|x; end"),
        Step(0.75, Component.APP, "pod;1", EventKind.LISTENER_CLOSED, "closed: %% comment? #59; ->> x"),
        Step(1.0, Component.CLIENT, "node:1", EventKind.VIOLATION, "request `x` *y* _z_ [a](b) end"),
    )
    return report(replace(CEX, trace=trace, summary="a | b <script> end", why="x; y # z"))


def sections(markdown: str) -> list[str]:
    return re.findall(r"^## (.+)$", markdown, re.M)


def mermaid_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```mermaid\n(.*?)^```$", markdown, re.M | re.S)


# ------------------------------------------------------------------ hand-built reports

def test_structure_title_table_and_sections() -> None:
    md = render_markdown(report(PROVED, CEX, INCONCLUSIVE, SUPPRESSED, notes=(Note(NoteKind.UNSELECTED, "Deployment/x: unpaired"),)))
    assert md.startswith("# zdverify: a rollout can drop requests\n")
    assert "1 proved, 1 counterexample, 1 inconclusive, 1 skipped (--nodes 3, Kubernetes 1.34)" in md
    assert "| verdict | property | workload | Service | summary |" in md
    assert md.count("\n| **counterexample** |") == 1 and md.count("\n| proved |") == 1
    assert sections(md) == [
        "Counterexample 1: termination — Deployment/default/web → Service/default/web",
        "Inconclusive 1: stalled — Deployment/default/web → Service/default/web",
        "Skipped (suppressed)", "What each proof needed", "Assumptions", "Not verified",
    ]
    assert md.endswith("\n") and not md.endswith("\n\n")


def test_counterexample_leads_with_plain_sentence_then_diagrams_then_blame_and_fix() -> None:
    md = render_markdown(report(CEX))
    body = md[md.index("## Counterexample 1"):]
    order = ["**What goes wrong:** A request reaches web-old-1 after SIGTERM.",
             "**Why:** Kube-proxy on node-2 lags behind the EndpointSlice.",
             "```mermaid\nsequenceDiagram", "```mermaid\ngantt", "| # | time |",
             "**Blamed manifest lines:**", "**Smallest fix:**", "```yaml"]
    positions = [body.index(s) for s in order]
    assert positions == sorted(positions)
    assert "(ZDV002 TrafficAfterShutdown)" in body


def test_blamed_lines_are_links_with_link_base() -> None:
    md = render_markdown(report(CEX), link_base="../")
    assert "- [deploy.yaml:21](../deploy.yaml#L21) `containers[web].lifecycle.preStop`: no preStop hook" in md
    assert "[svc.yaml:7](../svc.yaml#L7)" in md
    assert "| [deploy.yaml:19](../deploy.yaml#L19) |" in md  # trace table sources link too
    assert "[deploy.yaml:21](deploy.yaml#L21)" in render_markdown(report(CEX))


def test_absolute_paths_are_shown_relative_to_root() -> None:
    loc = Loc("/repo/k8s/deploy.yaml", 21)
    r = replace(CEX, blame=(Blame(loc, "f", "w"),))
    assert "[k8s/deploy.yaml:21](../k8s/deploy.yaml#L21)" in render_markdown(report(r), link_base="../", root="/repo")
    assert "[/repo/k8s/deploy.yaml:21](/repo/k8s/deploy.yaml#L21)" in render_markdown(report(r), root="/elsewhere")


def test_stdin_locations_are_not_links() -> None:
    r = replace(CEX, blame=(Blame(Loc("<stdin>", 4), "f", "w"),))
    md = render_markdown(report(r))
    assert "\\<stdin>:4" in md and "](<stdin>" not in md


def test_fix_is_prose_plus_yaml_snippet_that_loads() -> None:
    md = render_markdown(report(CEX))
    assert "In container 'web':\n\n```yaml\nlifecycle:\n  preStop:\n    sleep:\n      seconds: 3\n```" in md
    assert split_fix("keep a ready pod: run replicas >= 2 and maxUnavailable: 0") == (
        ["keep a ready pod: run replicas >= 2 and maxUnavailable: 0"], "", [])
    before, snippet, after = split_fix("add a preStop hook:\n  lifecycle:\n    preStop: {sleep: {seconds: 5}}\n(see docs)")
    assert before == ["add a preStop hook:"] and after == ["(see docs)"]
    assert yaml.safe_load(snippet) == {"lifecycle": {"preStop": {"sleep": {"seconds": 5}}}}


def test_short_trace_is_not_folded_long_trace_is_but_diagrams_stay_visible() -> None:
    md = render_markdown(report(CEX))
    assert "<details>" not in md
    long = replace(CEX, trace=long_trace(FOLD_STEPS + 3))
    md = render_markdown(report(long))
    assert md.count("<details>") == 1 and md.count("</details>") == 1
    assert f"<summary>All {FOLD_STEPS + 3} steps of the trace</summary>" in md
    details = md[md.index("<details>"):md.index("</details>")]
    assert "```mermaid" not in details and "| 15 |" in details
    assert len(mermaid_blocks(md)) == 2


def test_sequence_diagram_participants_and_one_arrow_per_step() -> None:
    diagram = sequence_diagram(SHORT_TRACE)
    participants = re.findall(r"^    participant (\S+) as (.+)$", diagram, re.M)
    assert participants == [
        ("client", "client"), ("kp2", "kube-proxy/node-2"), ("eps", "EndpointSlice"),
        ("kl1", "kubelet/node-1"), ("pod1", "pod web-old-1"), ("deploy", "Deployment controller"),
    ]
    arrows = re.findall(r"^    (\w+)(->>|-->>|-x)(\w+): (.*)$", diagram, re.M)
    assert len(arrows) == len(SHORT_TRACE)
    ids = {p for p, _ in participants}
    assert all(a in ids and b in ids for a, _, b, _ in arrows)
    assert ("kl1", "->>", "pod1") == arrows[1][:3]  # kubelet -> the pod its text names
    assert ("kp2", "-->>", "pod1") == arrows[3][:3]  # kube-proxy still routes to the pod
    assert ("client", "-x", "pod1") == arrows[4][:3]  # the failing request
    assert ("eps", "->>", "kp2") == arrows[5][:3]  # the EndpointSlice change reaches node-2
    assert "    rect rgb(255, 220, 220)\n    client-xpod1:" in diagram
    assert "autonumber" in diagram


def test_gantt_uses_numeric_milliseconds() -> None:
    chart = gantt(SHORT_TRACE)
    assert "    dateFormat x\n" in chart and "    axisFormat %s" in chart and "todayMarker off" in chart
    tasks = re.findall(r"^    (.+?) :(?:(crit|done|active), )?(\d+), (\d+)$", chart, re.M)
    assert len(tasks) == 6  # SIGTERM lane, pod, kube-proxy (2 bars), client, deployment
    assert all(int(start) < int(end) for _, _, start, end in tasks)
    assert [t[1] for t in tasks if t[0].startswith("a request")] == ["crit"]
    assert re.findall(r"^    section (.+)$", chart, re.M) == [
        "client", "kube-proxy/node-2", "kubelet/node-1", "pod web-old-1", "Deployment controller"]


def test_mermaid_text_escapes_specials() -> None:
    assert mermaid_text("a; b # c <d> 5% end endless") == "a#59; b #35; c #60;d#62; 5#37; #101;nd endless"
    md = render_markdown(hostile_report())
    seq, chart = mermaid_blocks(md)
    for line in seq.splitlines()[1:]:
        assert ";" not in line.replace("#59;", "").split(":", 1)[-1] or re.search(r"#\d+;", line)
    assert not re.search(r"\bend\b", "\n".join(seq.splitlines()[1:]).replace("\n    end", ""))
    for line in chart.splitlines():
        if re.match(r"^    .+ :", line) and "section" not in line:
            name = line.split(" :")[0]
            assert ":" not in name and ";" not in name and "#" not in name
    assert "a \\| b \\<script> end" in md  # Markdown escaping in the table


def test_suppressed_results_are_skipped_never_vanish() -> None:
    md = render_markdown(report(SUPPRESSED))
    assert md.startswith("# zdverify: no dropped requests proved")  # not counted by the gate
    assert "| skipped (counterexample) | `killed-in-flight` (ZDV004) |" in md
    assert "suppressed: accepted: see ticket 123" in md
    assert "## Skipped (suppressed)" in md and "[deploy.yaml:6](deploy.yaml#L6)" in md
    assert "```mermaid" not in md and "## Counterexample" not in md


def test_inconclusive_shows_reason() -> None:
    md = render_markdown(report(INCONCLUSIVE))
    assert "# zdverify: inconclusive" in md
    assert "**Reason:** More than 100000 states; raise the bound or reduce replicas." in md


def test_assumptions_table_lists_each_once() -> None:
    md = render_markdown(report(PROVED, replace(PROVED, property=builtin_by_slug("termination"))))
    table = md[md.index("## Assumptions"):]
    assert "| key | value | origin | note |" in table
    assert table.count("| `kube-proxy` | `0s..2s` | default | EndpointSlice -> rules applied |") == 1
    assert "| `app-startup` | `0s..30s` | flag |" in table
    assert "2 proofs" in table
    assert "## Assumptions" not in render_markdown(report(CEX))


def test_deterministic() -> None:
    r = report(PROVED, CEX, INCONCLUSIVE, SUPPRESSED)
    assert render_markdown(r) == render_markdown(r)


def test_empty_report() -> None:
    md = render_markdown(Report((), (Note(NoteKind.UNSELECTED, "Deployment/default/x: no Service selects its pods"),)))
    assert "nothing was verified" in md and "## Not verified" in md


# ------------------------------------------------------------------ real examples

EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_examples_structure(example: Path) -> None:
    rep = verify([str(example)])
    md = render_markdown(rep, link_base="../", root=str(ROOT))
    cex = [r for r in rep.results if r.verdict is Verdict.COUNTEREXAMPLE and r.suppressed is None]
    assert len([s for s in sections(md) if s.startswith("Counterexample ")]) == len(cex)
    assert len(mermaid_blocks(md)) == 2 * len(cex)
    assert md.count("**What goes wrong:**") == len(cex)
    for r in cex:
        for b in r.blame:
            rel = Path(b.loc.file).resolve().relative_to(ROOT).as_posix()
            assert f"[{rel}:{b.loc.line}](../{rel}#L{b.loc.line})" in md
        assert md.count("<details>") >= (len(r.trace) > FOLD_STEPS)
    if any(r.verdict is Verdict.PROVED for r in rep.results):
        assert "| key | value | origin | note |" in md
    assert str(ROOT) not in md  # paths are relative to the repository


def test_no_prestop_counterexample() -> None:
    md = render_markdown(verify([str(ROOT / "examples/no-prestop.yaml")]), root=str(ROOT))
    assert re.search(r"\*\*What goes wrong:\*\* A request via the load balancer \(Cluster policy\) entering "
                     r"node-\d is sent to nginx-old-1, which has already closed its listener at t=\d+\.\d\ds "
                     r"\(port 80\)\.", md)
    assert "[examples/no-prestop.yaml:24](examples/no-prestop.yaml#L24)" in md
    assert re.search(r"participant kp\d as kube-proxy/node-\d", md)
    snippet = re.search(r"```yaml\n(.*?)```", md, re.S).group(1)
    assert yaml.safe_load(snippet) == {"lifecycle": {"preStop": {"sleep": {"seconds": 3}}}}


def test_suppression_annotation_on_a_real_example(tmp_path: Path) -> None:
    text = (ROOT / "examples/no-prestop.yaml").read_text().replace(
        "  namespace: default\nspec:\n  replicas",
        '  namespace: default\n  annotations:\n    zdverify/ignore-termination: "accepted: ticket 7"\nspec:\n  replicas', 1)
    path = tmp_path / "suppressed.yaml"
    path.write_text(text)
    rep = verify([str(path)])
    md = render_markdown(rep, root=str(tmp_path))
    assert "| skipped (counterexample) | `termination` (ZDV002) |" in md
    assert "suppressed: accepted: ticket 7 ([suppressed.yaml:" in md
    assert "```mermaid" not in md
