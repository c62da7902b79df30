"""The spec language: grammar, type check, located errors with hints, the registry."""
from __future__ import annotations

import math

import pytest

from zdverify.grammar.spec_language import ClaimKind, Compare, Not, Quant, Sort, parse_specs
from zdverify.model.simulator.endpointslice import EndpointChange
from zdverify.model.simulator.properties import PodLife, Timeline, find
from zdverify.model.scenario import Entry, EntrySpec
from zdverify.model.source import InputError
from zdverify.specs.registry import builtin, load, select

HEAD = 'property T1 t {\n  description: "d"\n  remediation: "r"\n  cause: termination\n'


def prop(claim: str):
    return parse_specs(HEAD + f"  {claim}\n}}\n", "t.zds")[0]


def error(text: str) -> InputError:
    with pytest.raises(InputError) as e:
        parse_specs(text, "t.zds")
    return e.value


def claim_error(claim: str) -> InputError:
    return error(HEAD + f"  {claim}\n}}\n")


def test_builtins_are_specs_with_their_claims() -> None:
    props = builtin()
    assert [p.rule_id for p in props] == ["ZDV001", "ZDV002", "ZDV003", "ZDV004", "ZDV005", "ZDV006", "ZDV007"]
    assert all(p.builtin and p.description and p.remediation for p in props)
    assert props[4].claim.kind is ClaimKind.COMPLETES
    assert props[1].text.startswith("never exists node n, pod p:")


def test_never_and_always_violations() -> None:
    p = prop("always forall node n: (exists pod q: routes(n, q))")
    v = p.claim.violation()
    assert isinstance(v, Not) and isinstance(v.body, Quant) and v.body.universal and v.body.var.sort is Sort.NODE
    q = prop("never exists pod p: now + request > sigkill_at(p) - 5s")
    body = q.claim.violation().body
    assert isinstance(body, Compare) and not body.numeric and body.op == ">"
    c = prop("always count(p: serving(p)) >= 2")
    assert isinstance(c.claim.violation().body, Compare) and c.claim.violation().body.numeric


@pytest.mark.parametrize("claim,where,needle", [
    ("never exists node n, pod p: routes(n, p) && serving(p)", "5:44", "hint: write and, or, not"),
    ("never exists pod p: ready(p) = serving(p)", "5:32", "hint: equality is =="),
    ("never exists n: serving(n)", "5:17", "a bound variable has a sort"),
    ("never exists node n: sends(lb, n) and not exists pod p: routes(n, p)", "5:52", "in parentheses"),
])
def test_syntax_errors_are_located_with_a_hint(claim: str, where: str, needle: str) -> None:
    e = claim_error(claim)
    assert str(e.loc) == f"t.zds:{where}"
    assert e.message.startswith("expected ") and " near " in e.message
    assert needle in e.message


@pytest.mark.parametrize("claim,needle", [
    ("never exists pod p: servng(p)", "did you mean 'serving'"),
    ("never exists pod p, node n: routes(p, n)", "'p' is a pod, expected a node"),
    ("never exists pod p: serving(q)", "'q' is not bound"),
    ("never exists pod p: sends(p)", "sends(lb, n)"),
    ("never exists pod p: now > sigkill_at(p) - 5", "a time to a duration"),
    ("never exists pod p: sigkill_at(p)", "is an instant, not a condition"),
    ("never exists pod p: count(q: serving(q)) > 1s", "a count is compared with a number"),
    ("never exists pod p: now > 5q", "expected"),
])
def test_type_errors_name_the_column(claim: str, needle: str) -> None:
    e = claim_error(claim)
    assert e.loc is not None and e.loc.file == "t.zds" and e.loc.line == 5 and e.loc.col > 0
    assert needle in e.message


def test_field_errors() -> None:
    assert "did you mean 'description'" in error('property T1 t { descripton: "x" never exists pod p: ready(p) }').message
    assert "missing fields description, remediation, cause" in error("property T1 t { never exists pod p: ready(p) }").message
    assert "unknown cause" in error('property T1 t { description: "d" remediation: "r" cause: slow never exists pod p: ready(p) }').message
    assert "capitals then digits" in error('property t1 t { description: "d" remediation: "r" cause: startup never exists pod p: ready(p) }').message
    e = error('property T1 t { description: "d" remediation: "r" cause: startup }')
    assert "never <formula>" in e.message


def test_registry_rejects_duplicates_and_unknown_selections(tmp_path) -> None:
    f = tmp_path / "a.zds"
    f.write_text('property ZDV002 mine { description: "d" remediation: "r" cause: startup never exists pod p: ready(p) }')
    with pytest.raises(InputError, match="already defined built in"):
        load([str(f)])
    f.write_text('property MY1 mine { description: "d" remediation: "r" cause: startup never exists pod p: ready(p) }')
    props = load([str(f)])
    assert [p.slug for p in select(props, ["mine", "ZDV001"])] == ["startup", "mine"]
    with pytest.raises(InputError, match="unknown property 'nope'"):
        select(props, ["nope"])


def _timeline(close: float, applied_del: float) -> Timeline:
    """One old pod on node 0 (closes at ``close``), one new pod ready at 1; node 0's
    kube-proxy applies the new pod at 1 and the old pod's removal at ``applied_del``."""
    old = PodLife("old", True, 0, deleted=0.0, sigterm=close, close=close, unready=close + 1, exit=close + 1,
                  sigkill=close + 30)
    new = PodLife("new", False, 0, created=0.0, listen=0.5, ready=1.0)
    applied = (((1.0, 1, EndpointChange.ADD), (applied_del, 0, EndpointChange.DEL), (close + 1, 0, EndpointChange.UNREADY)),)
    return Timeline((old, new), applied, (((-math.inf, True),),), ("",), (EntrySpec(Entry.CLUSTER_IP, False),),
                    True, 0.5, 100.0, True)


def test_the_evaluator_finds_the_exact_window() -> None:
    termination = next(p for p in builtin() if p.slug == "termination")
    found = find(_timeline(close=2.0, applied_del=3.0), termination.claim.violation())
    assert found is not None and (found.t, found.t_end) == (2.0, 3.0)
    assert found.bound(Sort.POD) == 0 and found.bound(Sort.NODE) == 0
    assert find(_timeline(close=3.0, applied_del=3.0), termination.claim.violation()) is None  # half-open windows


def test_the_evaluator_counts_and_compares_times() -> None:
    tl = _timeline(close=2.0, applied_del=1.5)
    two = prop("always count(p: serving(p)) >= 2").claim.violation()
    found = find(tl, two)
    assert found is not None and found.t == 0.0 and found.t_end == 0.5  # new pod listens at 0.5
    late = prop("never exists node n, pod p: routes(n, p) and now >= sigkill_at(p) - 31s").claim.violation()
    found = find(tl, late)
    assert found is not None and found.t == 1.0 and found.t_end == 1.5  # sigkill at 32
