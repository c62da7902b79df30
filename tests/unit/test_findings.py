"""Reports a reviewer reads: counterexamples grouped into findings, an opening summary,
Markdown within a pull-request comment, vacuous proofs marked, custom properties in their
own words (model/verdict.py findings/headlines, reports/)."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from zdverify import verify
from zdverify.model.verdict import Report
from zdverify.reports.json_report import render_json
from zdverify.reports.markdown import COMMENT_LIMIT, render_markdown
from zdverify.reports.text import render_text
from test_sarif import COUNTEREXAMPLE, PROVED

ROOT = Path(__file__).resolve().parents[2]


def test_the_same_cause_blame_and_fix_through_several_ports_is_one_finding() -> None:
    other_port = replace(COUNTEREXAMPLE, port=443)
    other_workload = replace(COUNTEREXAMPLE, workload="Deployment/default/api")
    report = Report((COUNTEREXAMPLE, other_port, other_workload, PROVED))
    assert [len(f.results) for f in report.findings] == [2, 1]
    [headline] = report.headlines
    assert headline.workloads == (COUNTEREXAMPLE.workload, "Deployment/default/api")
    assert headline.reason == "no preStop hook (containers[*].lifecycle.preStop)"  # the container's name left out
    text = render_text(report)
    assert text.startswith("Summary: 2 findings\n")
    assert text.count("Counterexample: ") == 2 and "also for: Service/default/web port 443" in text
    markdown = render_markdown(report)
    assert "**Summary:** 2 findings" in markdown and markdown.count("## Counterexample ") == 2


def test_markdown_stays_within_a_pull_request_comment() -> None:
    many = tuple(replace(COUNTEREXAMPLE, workload=f"Deployment/default/w{i}", why="x" * 3000) for i in range(60))
    full = render_markdown(Report(many))
    assert len(full) <= COMMENT_LIMIT
    assert "Shortened to fit a pull-request comment" in full and "## Not shown in detail" in full
    assert "Deployment/default/w59" in full  # every finding is at least listed
    small = render_markdown(Report(many[:2]))
    assert "Shortened" not in small


def test_a_stalled_rollouts_proofs_are_marked_vacuous(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    report = verify(["examples/daemonset-hostport-surge.yaml"])
    stalled = [r for r in report.results if r.property.slug == "stalled"]
    assert stalled and all(r.verdict.value == "counterexample" for r in stalled)
    proved = [r for r in report.results if r.verdict.value == "proved"]
    assert proved and all(r.vacuous for r in proved)
    assert "VACUOUS" in render_text(report)
    assert all(r["vacuous"] for r in json.loads(render_json(report))["results"] if r["verdict"] == "proved")


def test_a_custom_property_is_described_in_its_own_words(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    spec = tmp_path / "custom.zds"
    spec.write_text('property CUST1 old-closed {\n  description: "An old pod gets a request after it closed"\n'
                    '  remediation: "Add a preStop sleep"\n  cause: termination\n'
                    "  never exists node n, pod p:\n    sends(lb, n) and routes(n, p) and old(p) and not serving(p)\n}\n")
    [r] = verify(["examples/no-prestop.yaml"], specs=[str(spec)], select=["old-closed"]).results
    assert r.verdict.value == "counterexample"
    assert r.summary.startswith("An old pod gets a request after it closed: the never claim of CUST1 fails")
    assert "has already closed its listener" not in r.summary  # the built-in termination's words
