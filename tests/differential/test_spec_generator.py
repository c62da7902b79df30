"""The differential property generator draws the whole spec language: every predicate,
instant, constant and cause the parser defines (its own tables, not a list written here),
every claim form and every sort of bound variable — so the checker and the simulator are
held against each other on each of them, and a word added to the language is drawn too."""
from __future__ import annotations

from functools import cache

import pytest

from hypothesis import HealthCheck, Phase, given, settings

from zdverify.grammar.spec_language import CAUSES, CONSTANTS, EVENTS, PREDICATES, ClaimKind, Quant, Sort

from spec_generator import as_properties, parse, spec_texts, vocabulary

WORDS = sorted(set(PREDICATES) | set(EVENTS) | set(CONSTANTS) | set(CAUSES))
DRAWS = 600  # the rarest word comes in about one property in 50: missing one is out of reach


@cache
def drawn() -> tuple[tuple[str, ...], tuple[ClaimKind, ...], tuple[tuple[Sort, bool], ...]]:
    """What DRAWS generated properties use: words, claim forms, (sort, universal) of the
    quantifiers. Generation only: no shrinking, nothing to fail."""
    words: set[str] = set()
    kinds: set[ClaimKind] = set()
    quants: set[tuple[Sort, bool]] = set()

    @settings(max_examples=DRAWS, phases=[Phase.generate], deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(text=spec_texts())
    def collect(text: str) -> None:
        sp = parse(text)[0]
        words.update(vocabulary(sp))
        kinds.add(sp.claim.kind)
        if sp.claim.formula is not None:
            quants.update((q.var.sort, q.universal) for q in _quants(sp.claim.formula))

    collect()
    return tuple(sorted(words)), tuple(kinds), tuple(quants)


def test_the_vocabulary_is_the_parsers() -> None:
    # 11 predicates and 8 instants (issue 12 found 9 of these 19 never drawn), now and request
    assert len(PREDICATES) + len(EVENTS) >= 19 and {"now", "request"} <= set(CONSTANTS)


@pytest.mark.parametrize("word", WORDS)
def test_every_word_of_the_language_is_drawn(word: str) -> None:
    assert word in drawn()[0]


@pytest.mark.parametrize("kind", list(ClaimKind))
def test_every_claim_form_is_drawn(kind: ClaimKind) -> None:
    assert kind in drawn()[1]


@pytest.mark.parametrize("sort", list(Sort))
@pytest.mark.parametrize("universal", [False, True])
def test_every_sort_is_bound_by_both_quantifiers(sort: Sort, universal: bool) -> None:
    assert (sort, universal) in drawn()[2]


def _quants(f):  # type: ignore[no-untyped-def]
    if isinstance(f, Quant):
        yield f
    for child in (getattr(f, "body", None), getattr(f, "left", None), getattr(f, "right", None)):
        if child is not None:
            yield from _quants(child)
    for part in getattr(f, "parts", ()) or ():
        yield from _quants(part)
    for _, t in getattr(f, "terms", ()) or ():
        yield from _quants(t)


@settings(max_examples=100, deadline=None)
@given(text=spec_texts(2))
def test_generated_specs_load_as_user_properties(text: str) -> None:
    """What the generator writes is accepted by the parser and the registry (``--spec``)."""
    props = as_properties(text)
    assert [p.rule_id for p in props] == ["GEN1", "GEN2"]
    assert all(not p.builtin for p in props)
