"""Every output format by name: ``render(name, report)`` returns the text to write."""
from __future__ import annotations

from typing import Callable

from zdverify.model.verdict import Report


def _text(report: Report, color: bool) -> str:
    from zdverify.reports.text import render_text
    return render_text(report, color)


def _json(report: Report, color: bool) -> str:
    from zdverify.reports.json_report import render_json
    return render_json(report)


def _markdown(report: Report, color: bool) -> str:
    from zdverify.reports.markdown import render_markdown
    return render_markdown(report)


def _sarif(report: Report, color: bool) -> str:
    from zdverify.reports.sarif import render_sarif
    return render_sarif(report)


def _junit(report: Report, color: bool) -> str:
    from zdverify.reports.junit import render_junit
    return render_junit(report)


def _github(report: Report, color: bool) -> str:
    from zdverify.reports.github import render_github
    return render_github(report)


RENDERERS: dict[str, Callable[[Report, bool], str]] = {
    "text": _text, "json": _json, "markdown": _markdown, "sarif": _sarif, "junit": _junit, "github": _github,
}


def render(name: str, report: Report, color: bool = False) -> str:
    return RENDERERS[name](report, color)
