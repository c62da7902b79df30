"""model/causes/: one handler per Cause, found by the registry; each answers why, blame, fix
and the violation's wording; no built-in property slug is written in model code."""
from __future__ import annotations

import ast
from dataclasses import replace
import pkgutil
from importlib import import_module
from pathlib import Path

import pytest

import zdverify.model.causes as causes
from zdverify.grammar.spec_language import Sort
from zdverify.model.assumptions import settings
from zdverify.model.causes import CauseHandler, Witness, handler
from zdverify.model.causes.handler import claim_fails
from zdverify.model.kube import build_objects
from zdverify.model.load import load_text
from zdverify.model.pairing import pair
from zdverify.model.run import Choices, Timing
from zdverify.model.scenario import Entry, EntrySpec, Scenario, build_scenario
from zdverify.model.simulator.engine import simulate
from zdverify.model.simulator.properties import Found, PodLife
from zdverify.model.verdict import Blame, Cause, Property
from zdverify.specs.registry import builtin

ROOT = Path(__file__).resolve().parents[2]


def manifest(strategy: str = "  strategy:\n    rollingUpdate: {maxSurge: 0, maxUnavailable: 1}\n",
             pod: str = "", svc: str = "  type: ClusterIP\n", spec: str = "", replicas: int = 2) -> str:
    return (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n"
        f"  replicas: {replicas}\n  selector: {{matchLabels: {{app: web}}}}\n" + strategy + spec +
        "  template:\n    metadata: {labels: {app: web}}\n    spec:\n"
        "      terminationGracePeriodSeconds: 30\n      containers:\n"
        "      - name: web\n        image: nginx\n        ports: [{containerPort: 8080}]\n" + pod +
        "---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n" + svc +
        "  selector: {app: web}\n  ports: [{port: 80, targetPort: 8080}]\n")


def build(text: str, nodes: int = 2) -> Scenario:
    pairs, _ = pair(build_objects(load_text(text, "t.yaml")))
    return build_scenario(pairs[0], nodes, settings())


# no readiness probe, maxUnavailable 1 of 2, no preStop: the built-ins all have an answer here;
# publishNotReadyAddresses keeps the termination fix off the checker's preStop search
PLAIN = build(manifest())
PUBLISHED = build(manifest(svc="  type: ClusterIP\n  publishNotReadyAddresses: true\n"))
PAUSED = build(manifest(spec="  paused: true\n"))


def prop_of(cause: Cause) -> Property:
    """A property with ``cause``: the built-in one, else a user property."""
    from dataclasses import replace
    found = [p for p in builtin() if p.cause is cause]
    return found[0] if found else replace(builtin()[-1], cause=cause, builtin=False, remediation="do X")


# ------------------------------------------------------------------ the registry


@pytest.mark.parametrize("cause", list(Cause))
def test_every_cause_has_its_handler(cause: Cause) -> None:
    h = handler(cause)
    assert isinstance(h, CauseHandler) and h.cause is cause
    assert handler(cause) is h  # a constant, not built per call


def test_the_spec_language_knows_exactly_the_causes_the_model_has() -> None:
    """A cause is a ``Cause`` member, a word of the spec language (``cause:``) and a handler
    module: the three lists agree, so a new cause cannot be usable in one and not another."""
    from zdverify.grammar.spec_language import CAUSES
    assert sorted(CAUSES) == sorted(c.value for c in Cause)
    modules = {m.name for m in pkgutil.iter_modules(causes.__path__)} - {"handler"}
    assert modules == {c.value.replace("-", "_") for c in Cause}


def test_every_module_is_one_cause_handler() -> None:
    """Each module of the package but the interface is the handler of the cause it is named after."""
    names = {m.name for m in pkgutil.iter_modules(causes.__path__)} - {"handler"}
    assert names == {c.value.replace("-", "_") for c in Cause}
    for name in names:
        assert isinstance(import_module(f"{causes.__name__}.{name}").HANDLER, CauseHandler)


# ------------------------------------------------------------------ each handler answers


@pytest.mark.parametrize("cause", list(Cause))
def test_each_handler_answers_on_a_small_scenario(cause: Cause) -> None:
    h = handler(cause)
    sc = PUBLISHED if cause is Cause.TERMINATION else PLAIN
    prop = prop_of(cause)
    why = h.why(sc)
    blame = h.blame(sc)
    fix = h.fix(sc, prop, None)
    assert isinstance(why, str) and why
    assert blame and all(isinstance(b, Blame) for b in blame)
    assert isinstance(fix, str) and fix
    blamed, reason, plan = h.answer(sc, prop, None)
    assert (blamed, reason, plan.text) == (blame, why, fix)
    assert h.routing("web-1", None).endswith("routes to web-1")


def test_answers_follow_the_scenario() -> None:
    startup, stalled, ending = handler(Cause.STARTUP), handler(Cause.STALLED), handler(Cause.NO_ENDPOINT)
    assert startup.blame(PLAIN)[0].why == "absent: the pod is Ready as soon as the container starts"
    assert startup.fix(PUBLISHED, prop_of(Cause.STARTUP), None) == \
        "remove publishNotReadyAddresses: true from the Service"
    assert stalled.blame(PAUSED)[0].field == "spec.paused"
    assert stalled.fix(PAUSED, prop_of(Cause.STALLED), None).startswith("resume the rollout")
    assert ending.why(PLAIN) == "the controller may delete the last ready pod before any new pod is ready"
    assert ending.fix(PLAIN, prop_of(Cause.NO_ENDPOINT), None) == \
        "strategy.rollingUpdate: {maxSurge: 1, maxUnavailable: 0} (or more replicas)"
    killed = handler(Cause.KILLED_IN_FLIGHT).blame(PLAIN)
    assert [b.field for b in killed] == [b.field for b in handler(Cause.TERMINATION).blame(PLAIN)][::-1]
    assert handler(Cause.CAPACITY).fix(PLAIN, prop_of(Cause.CAPACITY), None) == "do X"
    assert startup.routing("web-1", 2.0) == "already routes to web-1"
    assert handler(Cause.TERMINATION).routing("web-1", 2.0) == "still routes to web-1 (its removal applies at t=2.00s)"


# ------------------------------------------------------------------ the violation's wording

TIMELINE = simulate(PLAIN, Choices(), Timing()).timeline
CLUSTER = EntrySpec(Entry.CLUSTER_IP, False)


def witness(cause: Cause, found: Found | None, pod: PodLife | None) -> Witness:
    assert TIMELINE is not None
    return Witness(prop_of(cause), found, pod, "node-1", TIMELINE, False)


@pytest.mark.parametrize("cause", list(Cause))
def test_each_handler_describes(cause: Cause) -> None:
    h = handler(cause)
    assert h.describe(witness(cause, None, None)) == "the rollout does not finish"
    found = Found(1.5, 2.0, (("n", Sort.NODE, 0),), CLUSTER)
    text = h.describe(witness(cause, found, None))
    assert text == claim_fails(witness(cause, found, None)) or cause is Cause.NO_ENDPOINT
    assert text


def test_descriptions() -> None:
    old = PodLife("web-old-1", True, 0, sigkill=32.0)
    new = PodLife("web-new-1", False, 0, killed=9.0)
    at = Found(1.5, 2.0, (("n", Sort.NODE, 0), ("p", Sort.POD, 0)), CLUSTER)
    assert handler(Cause.TERMINATION).describe(witness(Cause.TERMINATION, at, old)) == \
        "a request via the ClusterIP (Cluster policy) entering node-1 is sent to web-old-1, which has already " \
        "closed its listener"
    assert handler(Cause.STARTUP).describe(witness(Cause.STARTUP, at, new)).endswith(
        "is sent to web-new-1, which has not started listening yet")
    assert handler(Cause.NO_ENDPOINT).describe(witness(Cause.NO_ENDPOINT, at, None)) == \
        ("a request via the ClusterIP (Cluster policy) entering node-1 finds no endpoint: kube-proxy REJECTs it "
         "(the connection is refused at once)")
    assert TIMELINE is not None
    assert handler(Cause.KILLED_IN_FLIGHT).describe(witness(Cause.KILLED_IN_FLIGHT, at, old)) == \
        ("a request via the ClusterIP (Cluster policy) entering node-1 is accepted by web-old-1 and "
         f"still runs ({TIMELINE.request:g}s) when SIGKILL arrives 30.50s later")
    lb = EntrySpec(Entry.LOAD_BALANCER, True)
    none_healthy = Found(1.5, 2.0, (), lb)
    assert TIMELINE.fail_open  # the generic profile: an AWS NLB
    assert handler(Cause.NO_HEALTHY_TARGET).describe(witness(Cause.NO_HEALTHY_TARGET, none_healthy, None)) == \
        ("the load balancer finds no node healthy and fails open: it sends to every node, and nodes without a "
         "local endpoint DROP the request (the client waits until its timeout)")
    closed = Witness(prop_of(Cause.NO_HEALTHY_TARGET), none_healthy, None, "node-1",
                     replace(TIMELINE, fail_open=False), False)
    assert handler(Cause.NO_HEALTHY_TARGET).describe(closed) == \
        "the load balancer finds no node healthy: every new connection fails there"
    drained = Witness(prop_of(Cause.STALLED), None, None, "node-1", TIMELINE, True)
    assert handler(Cause.STALLED).describe(drained) == "the drain does not finish"


# ------------------------------------------------------------------ no slug in model code


def _enum_member_values(tree: ast.AST) -> set[int]:
    """ids of the string constants that are values of ``class Cause(Enum)`` members: the
    spec language's ``cause:`` vocabulary, which shares words with the slugs."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == "Cause":
            out |= {id(a.value) for a in node.body if isinstance(a, ast.Assign)}
    return out


def test_no_model_code_names_a_builtin_property() -> None:
    """Properties are data (specs/builtin.zds): model code finds one by what it is (its cause),
    never by its slug. Whole string literals are compared, so words such as "startup" in
    longer texts are fine."""
    slugs = {p.slug for p in builtin()}
    assert "no-endpoint" in slugs
    found = []
    for path in sorted((ROOT / "model").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        causes_vocabulary = _enum_member_values(tree) if path.name == "verdict.py" else set()
        found += [f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}" for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and node.value in slugs and id(node) not in causes_vocabulary]
    assert not found, found


def test_a_local_request_without_an_endpoint_is_dropped_or_rejected_as_kube_proxy_does() -> None:
    """``proxier.go``: policy Local with usable endpoints elsewhere DROPs (the client waits
    for its timeout); with none anywhere in the node's view it REJECTs (refused at once)."""
    from zdverify.model.simulator.endpointslice import EndpointChange
    from zdverify.model.simulator.properties import Timeline

    local = EntrySpec(Entry.LOAD_BALANCER, True)
    pods = (PodLife("web-old-1", True, 0), PodLife("web-old-2", True, 1))
    gone_here = ((1.0, 0, EndpointChange.DEL), (1.5, 0, EndpointChange.UNREADY))
    other_gone = gone_here + ((2.0, 1, EndpointChange.DEL), (2.5, 1, EndpointChange.UNREADY))

    def text(applied: tuple, t: float) -> str:
        tl = Timeline(pods, (applied, ()), ((), ()), ("", ""), (local,), True, 0.5, 100.0, True)
        found = Found(t, t + 0.25, (("n", Sort.NODE, 0),), local)
        return handler(Cause.NO_ENDPOINT).describe(Witness(prop_of(Cause.NO_ENDPOINT), found, None, "node-1", tl, False))

    assert "kube-proxy DROPs it (the client waits until its timeout)" in text(gone_here, 3.0)
    assert "kube-proxy REJECTs it (the connection is refused at once)" in text(other_gone, 3.0)
    # before the other pod's removal reached node-1, it was still usable there: DROP
    assert "DROPs" in text(other_gone, 1.75)


def test_a_completion_claim_under_a_timing_cause_gets_its_own_remediation() -> None:
    """A user property ``always completes`` with cause termination (or no-healthy-target):
    the preStop and minReadySeconds searches verify ``never`` claims only, so the fix is the
    property's remediation (a differential test found the search asserting on it)."""
    text = ('property MINE1 mine {\n  description: "d"\n  remediation: "do Y"\n  cause: termination\n'
            "  always completes\n}\n")
    from zdverify.grammar.spec_language import parse_specs
    from zdverify.specs.registry import _property
    prop = _property(parse_specs(text, "mine.zds")[0], False)
    for cause in (Cause.TERMINATION, Cause.NO_HEALTHY_TARGET, Cause.NO_ENDPOINT):
        assert handler(cause).answer(PLAIN, prop, None)[2].text == "do Y"
