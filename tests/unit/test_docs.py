"""The documentation stays honest: docs/semantics.md lists every bound of the model with its
default and every built-in load-balancer profile with its numbers, as
``model/assumptions.py`` defines them; and the repository stands alone — neither the README,
the docs, nor the code that reports to users points at notes outside the repository."""
from __future__ import annotations

from pathlib import Path

import pytest

from zdverify.model.assumptions import BOUNDS, LB_PROFILES

ROOT = Path(__file__).resolve().parents[2]
SEMANTICS = ROOT / "docs" / "semantics.md"


def tables(text: str) -> list[list[list[str]]]:
    """Every Markdown table of ``text`` as rows of cells (header first, the separator row
    dropped); cells stripped of surrounding spaces and backticks."""
    out: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in text.splitlines() + [""]:
        line = line.strip()
        if line.startswith("|") and line.endswith("|"):
            cells = [c.strip().strip("`").strip() for c in line[1:-1].split("|")]
            if not all(set(c) <= set("-: ") for c in cells):
                current.append(cells)
        elif current:
            out.append(current)
            current = []
    return out


def table_with(columns: tuple[str, ...]) -> tuple[list[str], dict[str, list[str]]]:
    """The table of docs/semantics.md whose header has all ``columns``: its header and its
    rows keyed by the first cell."""
    for table in tables(SEMANTICS.read_text(encoding="utf-8")):
        header = [h.lower() for h in table[0]]
        if all(c in header for c in columns):
            return header, {row[0]: row for row in table[1:]}
    raise AssertionError(f"docs/semantics.md has no table with columns {columns}")


def test_semantics_doc_exists():
    assert SEMANTICS.is_file(), "docs/semantics.md is missing"


# ------------------------------------------------------------------------- bounds


def bounds_table() -> tuple[list[str], dict[str, list[str]]]:
    return table_with(("key", "default"))


@pytest.mark.parametrize("bound", BOUNDS, ids=lambda b: b.key)
def test_every_bound_is_in_the_table_with_its_default(bound):
    header, rows = bounds_table()
    assert bound.key in rows, f"bound {bound.key!r} is missing from the bounds table of docs/semantics.md"
    row = rows[bound.key]
    default = row[header.index("default")]
    assert default == str(bound.default), (
        f"docs/semantics.md gives {bound.key} the default {default!r}; model/assumptions.py says "
        f"{str(bound.default)!r}")
    assert all(cell for cell in row), f"bound {bound.key!r}: an empty cell in docs/semantics.md ({row})"


def test_the_bounds_table_lists_only_real_bounds():
    _, rows = bounds_table()
    known = {b.key for b in BOUNDS}
    assert set(rows) <= known, f"docs/semantics.md lists unknown bounds: {sorted(set(rows) - known)}"


def test_interval_renders_as_the_doc_writes_it():
    """The doc writes defaults as ``str(Interval)``: ``0s..2s``, and a point as ``0s``."""
    rendered = {b.key: str(b.default) for b in BOUNDS}
    assert rendered["kube-proxy"] == "0s..2s"
    assert rendered["app-close"] == "0s"


# ------------------------------------------------------------- load-balancer profiles


def profiles_table() -> tuple[list[str], dict[str, list[str]]]:
    return table_with(("profile", "interval", "timeout"))


def seconds(x: float) -> str:
    return f"{x:g}s"


@pytest.mark.parametrize("profile", list(LB_PROFILES.values()), ids=lambda p: p.name)
def test_every_profile_is_in_the_table_with_its_numbers(profile):
    header, rows = profiles_table()
    assert profile.name in rows, f"profile {profile.name!r} is missing from docs/semantics.md"
    row = rows[profile.name]

    def cell(column: str) -> str:
        return row[header.index(column)]

    assert cell("interval") == seconds(profile.interval)
    assert cell("timeout") == seconds(profile.timeout)
    if "healthy" in header:
        assert cell("healthy") == str(profile.healthy)
    if "unhealthy" in header:
        assert cell("unhealthy") == str(profile.unhealthy)
    if "removal ≤" in header:
        assert cell("removal ≤") == seconds(profile.removal_max)
    if "add-back ≤" in header:
        assert cell("add-back ≤") == seconds(profile.add_max)
    if "fails open" in header:
        assert cell("fails open").startswith("yes" if profile.fail_open else "no"), (
            f"profile {profile.name!r}: fail-open is {profile.fail_open} in model/assumptions.py")
    if "source" in header:
        assert cell("source"), f"profile {profile.name!r} has no source in docs/semantics.md"


def test_the_profiles_table_lists_only_real_profiles():
    _, rows = profiles_table()
    assert set(rows) <= set(LB_PROFILES), (
        f"docs/semantics.md lists unknown profiles: {sorted(set(rows) - set(LB_PROFILES))}")


# ---------------------------------------------------------------- standing alone

FORBIDDEN = ("/work/shared", "k8s-semantics.md", "DESIGN.md", "../shared")


def user_facing_files() -> list[Path]:
    """README.md, every file under docs/, every .py file under model/, reports/, zdverify/."""
    files = [ROOT / "README.md"]
    files += sorted(p for p in (ROOT / "docs").rglob("*") if p.is_file())
    for top in ("model", "reports", "zdverify"):
        files += sorted(p for p in (ROOT / top).rglob("*.py") if "__pycache__" not in p.parts)
    return files


def test_the_scanned_files_are_there():
    files = user_facing_files()
    assert SEMANTICS in files and ROOT / "model" / "assumptions.py" in files
    assert any(p.parent == ROOT / "zdverify" for p in files) and any(p.parent == ROOT / "reports" for p in files)


@pytest.mark.parametrize("needle", FORBIDDEN)
def test_no_reference_outside_the_repository(needle):
    hits = []
    for path in user_facing_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            if needle in line:
                hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not hits, f"{needle!r} points outside the repository:\n" + "\n".join(hits)
