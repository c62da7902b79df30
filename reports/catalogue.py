"""``zdverify properties``: the catalogue of built-in properties, as text or Markdown.
The README's catalogue is this Markdown (a test keeps them equal)."""
from __future__ import annotations

from zdverify.specs.builtin import CATALOGUE


def render_catalogue(fmt: str) -> str:
    if fmt == "markdown":
        rows = ["| id | property | fails when | remediation |", "|---|---|---|---|"]
        rows += [f"| {i.rule_id} | `{i.property.value}` | {i.short} | {i.help} |" for i in CATALOGUE]
        return "\n".join(rows) + "\n"
    out = []
    for i in CATALOGUE:
        out += [f"{i.rule_id}  {i.property.value}  ({i.name})", f"  {i.short}", f"  why: {i.full}",
                f"  fix: {i.help}", ""]
    return "\n".join(out)
