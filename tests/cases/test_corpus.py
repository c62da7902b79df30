"""Every public test manifest of other linters gets a verdict or a located error."""
from __future__ import annotations

from pathlib import Path

import pytest

from zdverify import verify
from zdverify.model.source import InputError
from zdverify.model.verdict import EventKind, Report, Verdict

CORPUS = Path(__file__).resolve().parents[1] / "corpus"  # vendored, with licences (tests/corpus/README.md)
FILES = sorted(p for p in CORPUS.rglob("*") if p.suffix in (".yaml", ".yml"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_verdict_or_located_error(path: Path) -> None:
    try:
        report = verify([str(path)])
    except InputError as e:
        assert e.loc is not None and e.loc.line >= 1, str(e)
        # Helm output is located in the template its '# Source:' comment names
        assert Path(e.loc.file) == path or f"# Source: {e.loc.file}" in path.read_text(), str(e)
        return
    assert isinstance(report, Report)
    for r in report.results:
        if r.verdict is Verdict.COUNTEREXAMPLE:  # a replayed trace ending in the failing request
            assert [s.kind for s in r.trace].count(EventKind.VIOLATION) == 1 and r.blame, r.summary
        elif r.verdict is Verdict.PROVED:  # a proof states what it rests on
            assert r.assumptions and not r.trace, r.summary
        else:
            assert r.why, r.summary  # an inconclusive result says why


def test_the_corpus_is_there() -> None:
    """The vendored corpus (tests/corpus) is read: an empty glob must not pass for a run."""
    assert len(FILES) >= 600 and (CORPUS / "LICENSES").is_dir()
