"""Every public corpus file loads, or fails with an InputError located in that file."""
from __future__ import annotations

from pathlib import Path

import pytest

from zdverify.model.kube import build_objects
from zdverify.model.inputs import load_paths
from zdverify.model.source import InputError

CORPUS = Path(__file__).resolve().parents[1] / "corpus"  # vendored, with licences (tests/corpus/README.md)
FILES = sorted(p for p in CORPUS.rglob("*") if p.suffix in (".yaml", ".yml"))


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(CORPUS)) for p in FILES])
def test_corpus_file_loads_or_fails_with_a_located_error(path: Path) -> None:
    try:
        build_objects(load_paths([str(path)]))
    except InputError as e:
        assert e.loc is not None, e
        # Helm output is located in the template its '# Source:' comment names
        assert e.loc.file == str(path) or f"# Source: {e.loc.file}" in path.read_text(), e
        assert e.loc.line >= 1, e
