"""The manifest fields the model points at are constants (``objects.Field``), each checked
here against a manifest that writes it: a typo fails this test instead of silently pointing
at the parent's line. Product code passes no string literal to ``loc_of``."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from zdverify.model.kube import build_objects
from zdverify.model.inputs import load_paths
from zdverify.model.objects import Field

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).parent / "data" / "fields.yaml"


def _written_paths() -> set[str]:
    objects = build_objects(load_paths([str(FIXTURE)]))
    located = [*objects.workloads, *objects.services]
    out: set[str] = set()
    for o in located:
        out.update(o.locs)
        template = getattr(o, "template", None)
        if template is not None:
            out.update(template.locs)
    return out


WRITTEN = _written_paths()


@pytest.mark.parametrize("field", list(Field), ids=lambda f: f.name)
def test_every_field_constant_names_a_written_field(field: Field) -> None:
    assert str(field) in WRITTEN, f"{field.name} = {field.value!r}: no such field in {FIXTURE.name}"


def test_a_misspelt_field_is_not_found() -> None:
    """The check above can fail: loc_of's fallback to the parent is not mistaken for a hit."""
    assert "spec.strategy.rollingUpdate.maxSurges" not in WRITTEN


def test_no_string_literal_field_paths_in_product_code() -> None:
    literal = []
    for d in ("model", "zdverify", "reports"):
        for path in sorted((ROOT / d).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr == "loc_of" and node.args
                        and isinstance(node.args[0], ast.Constant)):
                    literal.append(f"{path.relative_to(ROOT)}:{node.lineno}: loc_of({node.args[0].value!r})")
    assert literal == [], "use objects.Field constants:\n" + "\n".join(literal)
