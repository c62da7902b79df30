"""reports/examples/ is a gallery of what zdverify prints for every example (Markdown for
reviews, SARIF for code scanning). This test regenerates it and fails when the committed
copy is stale; refresh it with ZDVERIFY_UPDATE_GOLDENS=1 python -m pytest tests/cases."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from example_options import OPTIONS
from zdverify import verify
from zdverify.reports.markdown import render_markdown
from zdverify.reports.sarif import render_sarif

ROOT = Path(__file__).resolve().parents[2]
GALLERY = ROOT / "reports" / "examples"
EXAMPLES = sorted(p.name for p in (ROOT / "examples").glob("*.yaml"))


def rendered(name: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(ROOT)  # locations relative to the repository, as a reviewer sees them
    # how likely each counterexample is, with fewer runs than the CLI's 200 to keep the suite short
    report = verify([f"examples/{name}"], likelihood_runs=100, **OPTIONS.get(name, {}))
    stem = name.removesuffix(".yaml")
    return {f"{stem}.md": render_markdown(report, link_base="../../", root=str(ROOT)),
            f"{stem}.sarif": render_sarif(report, root=str(ROOT))}


@pytest.mark.parametrize("name", EXAMPLES)
def test_gallery_is_current(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for file, text in rendered(name, monkeypatch).items():
        target = GALLERY / file
        if os.environ.get("ZDVERIFY_UPDATE_GOLDENS"):
            GALLERY.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        assert target.exists(), f"{target} is missing: regenerate the gallery"
        assert target.read_text() == text, f"{target} is stale: regenerate the gallery"


def test_gallery_has_nothing_else() -> None:
    expected = {f"{n.removesuffix('.yaml')}.{ext}" for n in EXAMPLES for ext in ("md", "sarif")}
    assert {p.name for p in GALLERY.iterdir() if p.name != "README.md"} == expected
