"""A proof says what it rests on (issue F, item 7): the bounds and manifest values in a
minimal unsat core of each query, taken by the solver — not written by hand."""
from __future__ import annotations

import json
from pathlib import Path

import z3

from zdverify import verify
from zdverify.model.assumptions import settings
from zdverify.model.kube import build_objects
from zdverify.model.inputs import load_paths
from zdverify.model.pairing import pair
from zdverify.model.scenario import build_scenario
from zdverify.model.checker.encoding import Encoding, KeyedInterval
from zdverify.model.verdict import Fact, Verdict
from zdverify.reports.formats import render

DATA = Path(__file__).parent / "data"
PROBE_OTHER_PORT = DATA / "probe-other-port.yaml"


def _by_property(path: Path, **options: object) -> dict:
    return {r.property.slug: r for r in verify([str(path)], **options).results}


def test_a_probe_of_another_port_is_proved_only_by_its_initial_delay() -> None:
    """The probe checks port 5084, the Service targets 80: startup is proved only because
    initialDelaySeconds 30 exceeds app-startup <= 10 s — and the proof says exactly that."""
    r = _by_property(PROBE_OTHER_PORT)["startup"]
    assert r.verdict is Verdict.PROVED
    assert [f.key for f in r.rests_on] == ["app-startup", "readinessProbe.initialDelaySeconds"]
    delay = next(f for f in r.rests_on if f.key == "readinessProbe.initialDelaySeconds")
    assert delay.loc is not None and delay.loc.line == 15 and delay.text.endswith(": 30")
    # and it is needed: a slower application breaks the proof
    slow = _by_property(PROBE_OTHER_PORT, assume={"app-startup": "0s..40s"})["startup"]
    assert slow.verdict is Verdict.COUNTEREXAMPLE


def test_a_proof_from_the_rollouts_structure_alone_names_nothing() -> None:
    r = _by_property(PROBE_OTHER_PORT)["no-endpoint"]  # maxUnavailable 25% of 2: never a pod less
    assert r.verdict is Verdict.PROVED and r.rests_on == ()


def test_the_core_is_minimal_and_from_the_solver() -> None:
    """Two facts, one enough: the core keeps one of them; an unneeded bound is not named;
    without tracking the same constraints are plain assertions."""
    pairs, _ = pair(build_objects(load_paths([str(PROBE_OTHER_PORT)])))
    scen = build_scenario(pairs[0], 2, settings())
    enc = Encoding(scen, z3.Context(), tracking=True)
    x = enc.within("x", KeyedInterval(0, 2, "kube-proxy"))
    y = enc.within("y", KeyedInterval(0, 1, "endpointslice"))
    enc.hold(Fact("a", "a"), x <= 1)
    enc.hold(Fact("b", "b"), x <= 1.5)
    enc.add(x + y >= 2.5, y >= 0)
    core = enc.core(5000)
    assert core is not None and len(core) == 2 and {f.key for f in core} & {"a", "b"}
    assert any(f.text == "endpointslice <= 1s" for f in core)
    plain = Encoding(scen, z3.Context())
    x = plain.within("x", KeyedInterval(0, 2, "kube-proxy"))
    plain.hold(Fact("a", "a"), x <= 1)
    plain.add(x >= 1.5)
    assert plain.solver.check() == z3.unsat and not plain.flags


def test_every_format_carries_it() -> None:
    report = verify([str(PROBE_OTHER_PORT)])
    doc = json.loads(render("json", report))
    startup = next(r for r in doc["results"] if r["property"] == "startup")
    assert [f["key"] for f in startup["rests_on"]] == ["app-startup", "readinessProbe.initialDelaySeconds"]
    assert startup["rests_on"][1]["line"] == 15
    assert "readinessProbe.initialDelaySeconds: 30" in render("text", report)
    assert "## What each proof needed" in render("markdown", report)
    proofs = json.loads(render("sarif", report))["runs"][0]["properties"]["proofs"]
    assert {p["property"] for p in proofs} == {r["property"] for r in doc["results"] if r["verdict"] == "proved"}
    assert any(f["key"] == "app-startup" for p in proofs if p["property"] == "startup" for f in p["restsOn"])
