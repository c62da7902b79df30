"""Every grammar builds under lark's strict mode (no two terminals whose regexps can match
the same text, no shift/reduce conflict); the runtime builds without the check
(grammar/compiled.py) and must give the same parser."""
from __future__ import annotations

from pathlib import Path

from lark import Lark

from zdverify.grammar.compiled import grammar_text, lalr
from zdverify.grammar.spec_language import SPEC_OPTIONS

ROOT = Path(__file__).resolve().parents[2]


def test_every_grammar_is_strict_and_the_runtime_parser_is_the_same() -> None:
    for name, options in (("spec.lark", SPEC_OPTIONS), ("duration.lark", {})):
        strict = Lark(grammar_text(name), parser="lalr", strict=True, **options)
        runtime = lalr(name, **options)
        assert sorted(t.name for t in strict.terminals) == sorted(t.name for t in runtime.terminals)
        assert len(strict.parser.parser.parser.parse_table.states) == len(runtime.parser.parser.parser.parse_table.states)
    specs = sorted((ROOT / "specs").glob("*.zds"))
    assert specs
    for spec in specs:  # the same trees
        text = spec.read_text()
        assert Lark(grammar_text("spec.lark"), parser="lalr", strict=True, **SPEC_OPTIONS).parse(text) == \
            lalr("spec.lark", **SPEC_OPTIONS).parse(text)


def test_the_cache_is_used_and_can_be_turned_off(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    lalr.cache_clear()
    try:
        lalr("duration.lark")
        cached = tmp_path / "zdverify" / "duration.lark.lalr"
        assert cached.stat().st_size > 0
        lalr.cache_clear()
        cached.write_bytes(b"garbage\n\x80\x04 half a pickle")  # another process mid-write, say
        assert lalr("duration.lark").parse("3s")
        lalr.cache_clear()
        monkeypatch.setenv("ZDVERIFY_NO_CACHE", "1")
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "other"))
        assert lalr("duration.lark").parse("3s")
        assert not (tmp_path / "other").exists()
        lalr.cache_clear()
        monkeypatch.delenv("ZDVERIFY_NO_CACHE")
        monkeypatch.setenv("XDG_CACHE_HOME", "/proc/none")  # cannot be written: built anyway
        assert lalr("duration.lark").parse("3s")
    finally:
        lalr.cache_clear()
