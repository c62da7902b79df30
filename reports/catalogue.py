"""``zdverify properties``: the property catalogue, as text or Markdown. The README's
catalogue is the Markdown of the built-ins (a test keeps them equal)."""
from __future__ import annotations

from typing import Sequence

from zdverify.model.verdict import Property


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_catalogue(properties: Sequence[Property], fmt: str) -> str:
    if fmt == "markdown":
        rows = ["| id | property | claim | fails when | remediation |", "|---|---|---|---|---|"]
        rows += [f"| {p.rule_id} | `{p.slug}` | `{_cell(p.text)}` | {_cell(p.description)} | "
                 f"{_cell(p.remediation)} |" for p in properties]
        return "\n".join(rows) + "\n"
    out = []
    for p in properties:
        origin = "built in" if p.builtin else f"from {p.source}"
        out += [f"{p.rule_id}  {p.slug}  ({p.name}, {origin}, reports cause {p.cause.value})",
                f"  claim: {p.text}", f"  fails when: {p.description}", f"  why: {p.explanation}",
                f"  fix: {p.remediation}", ""]
    return "\n".join(out)
