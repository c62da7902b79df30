"""``--format github``: workflow-command annotations."""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from zdverify import verify
from zdverify.model.source import Loc
from zdverify.model.verdict import Blame, Report, Verdict
from zdverify.reports.github import escape_data, escape_property, render_github
from test_sarif import COUNTEREXAMPLE, HAND, INCONCLUSIVE, PROVED

ROOT = Path(__file__).resolve().parents[2]


def test_escaping_follows_the_runner() -> None:
    assert escape_data("100% a\r\nb: c, d") == "100%25 a%0D%0Ab: c, d"
    assert escape_property("a,b:c%d\ne") == "a%2Cb%3Ac%25d%0Ae"


def test_one_annotation_per_finding_errors_first() -> None:
    lines = render_github(HAND, root=str(ROOT)).splitlines()
    assert [line.split(" ", 1)[0] for line in lines] == ["::error", "::warning", "::notice"]
    error = lines[0]
    assert error.startswith("::error file=deploy/web.yaml,line=21,col=9,title=zdverify termination::")
    message = error.split("::", 2)[2]
    assert message.startswith(COUNTEREXAMPLE.summary)
    assert "\n" not in message and "%0Afix:%0Alifecycle:%0A  preStop:" in message
    assert lines[1].startswith("::warning file=deploy/web.yaml,line=4,col=1,title=zdverify stalled (inconclusive)::")
    assert "inconclusive" in lines[1].split("::", 2)[2]
    assert lines[2].startswith("::notice file=deploy/web.yaml,line=7,col=5,title=zdverify no-endpoint (suppressed)::"
                               "suppressed: single replica by design")


def test_properties_are_escaped() -> None:
    odd = replace(COUNTEREXAMPLE, blame=(Blame(Loc("dir,with:odd.yaml", 3), "f", "w"),), summary="50% of it")
    (line,) = render_github(Report((odd,)), root=str(ROOT)).splitlines()
    assert line.startswith("::error file=dir%2Cwith%3Aodd.yaml,line=3,title=zdverify termination::50%25 of it")


def test_proved_is_silent() -> None:
    assert render_github(Report((PROVED,))) == ""


def test_annotations_are_capped_at_the_display_limit_with_a_last_line() -> None:
    report = Report(tuple(replace(COUNTEREXAMPLE, workload=f"Deployment/default/w{i}") for i in range(12)))
    lines = render_github(report).splitlines()
    assert sum(line.startswith("::error ") for line in lines) == 10
    assert "2 more errors" in lines[-1] and not lines[-1].startswith("::")


def test_one_annotation_per_finding() -> None:
    """The same workload, cause, blame and fix through several Services is one finding."""
    report = Report(tuple(replace(COUNTEREXAMPLE, service=f"Service/default/s{i}") for i in range(3)))
    [line] = render_github(report).splitlines()
    assert "also for: Service/default/s1" in line.replace("%0A", "\n") and "Service/default/s2" in line


def test_examples_one_error_per_counterexample(monkeypatch) -> None:
    """One error per counterexample at its first blamed line, one warning per inconclusive
    result at its workload (the gate passes neither), nothing else."""
    monkeypatch.chdir(ROOT)
    for path in sorted((ROOT / "examples").glob("*.yaml")):
        report = verify([f"examples/{path.name}"])
        out = render_github(report)
        assert out == render_github(report)
        errors = [line for line in out.splitlines() if line.startswith("::error ")]
        warnings = [line for line in out.splitlines() if line.startswith("::warning ")]
        counterexamples = [f.first for f in report.findings]
        inconclusive = [r for r in report.results if r.verdict is Verdict.INCONCLUSIVE]
        assert len(errors) == len(counterexamples) and len(warnings) == len(inconclusive)
        assert len(errors) + len(warnings) == len(out.splitlines())
        for line, result in zip(errors, counterexamples):
            assert f"file=examples/{path.name},line={result.blame[0].loc.line}," in line
        for line, result in zip(warnings, inconclusive):
            assert f"file=examples/{path.name},line={result.source.line}," in line and "inconclusive" in line


def test_inconclusive_without_location_has_no_file() -> None:
    (line,) = render_github(Report((replace(INCONCLUSIVE, source=None),))).splitlines()
    assert line.startswith("::warning title=zdverify stalled (inconclusive)::")


def test_absolute_paths_inside_the_checkout_become_relative(monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    moved = replace(COUNTEREXAMPLE, blame=(Blame(Loc(os.path.join(tmp_path, "k8s", "a.yaml"), 5), "f", "w"),))
    assert render_github(Report((moved,))).startswith("::error file=k8s/a.yaml,line=5,")
