"""The LALR parsers of ``grammar/*.lark``, built once per grammar and lark version.

Building the spec language's parser costs ~40 ms (and ~160 ms with ``strict=True``, whose
regex-collision check needs interegular); a run needs it every time. So the runtime builds
without ``strict`` — ``tests/unit/test_grammar_strict.py`` builds every grammar strictly —
and keeps lark's own cache (a pickle of the parse tables, keyed by lark on the grammar's
text, the options and lark's version) in the user's cache directory
(``$XDG_CACHE_HOME/zdverify``, else ``~/.cache/zdverify``; ``ZDVERIFY_NO_CACHE=1`` turns it
off). A cache that cannot be read or written is ignored: lark builds the parser instead.
"""
from __future__ import annotations

import os
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from lark import Lark


def grammar_text(name: str) -> str:
    return resources.files("zdverify.grammar").joinpath(name).read_text(encoding="utf-8")


def _cache_file(name: str) -> str | bool:
    if os.environ.get("ZDVERIFY_NO_CACHE"):
        return False
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = Path(root) / "zdverify"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return str(folder / f"{name}.lalr")


@cache
def lalr(name: str, **options: Any) -> Lark:
    """The LALR parser of grammar file ``name`` with lark ``options``."""
    return Lark(grammar_text(name), parser="lalr", cache=_cache_file(name), **options)
