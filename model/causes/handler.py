"""What a cause's handler answers about a violation of a property with that cause: the
violation in the client's words, the trace's routing step, the manifest lines to blame, why
it happens and the smallest fix. One handler per ``Cause``, one module per handler, named
after the cause (``no-endpoint`` -> ``no_endpoint.py``); ``handler`` in this package finds it."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from zdverify.grammar.spec_language import ClaimKind, Sort
from zdverify.model.checker.graph import GraphFacts
from zdverify.model.scenario import Scenario
from zdverify.model.verdict import Blame, Cause, FixEdit, Property

if TYPE_CHECKING:  # the simulator's result types, only named here
    from zdverify.model.simulator.properties import Found, PodLife, Timeline


@dataclass(frozen=True)
class Witness:
    """A violation as the replayed run found it: what ``describe`` words."""

    prop: Property
    found: Found | None  # None: the run does not finish (an ``always completes`` claim)
    pod: PodLife | None  # the pod the violation binds, if any
    where: str  # the node the violation binds (or the violating pod's node)
    timeline: Timeline
    drain: bool  # a drain (--drain) rather than a rollout


def claim_fails(w: Witness) -> str:
    """The wording of any cause's violation it has no words of its own for: the run does
    not finish, or the property's claim fails for the values it binds."""
    if w.found is None:
        return "the drain does not finish" if w.drain else "the rollout does not finish"
    tl = w.timeline
    names = ", ".join(f"{name} = {tl.pods[int(v)].name if s is Sort.POD else w.where if s is Sort.NODE else v}"
                      for name, s, v in w.found.bindings)
    claim = w.prop.claim.kind.value
    return (f"{w.prop.description.rstrip('.')}: the {claim} claim of {w.prop.rule_id} fails"
            + (f" for {names}" if names else ""))


def via(w: Witness) -> str:
    """Who experiences the violation: a request through an entry, or the node."""
    assert w.found is not None
    e = w.found.entry
    return (f"a request via the {e.text}" if e is not None and e.ip else
            f"a request via the {e.text} entering {w.where}" if e is not None else f"at {w.where}")


class CauseHandler(ABC):
    """One cause's answers; a handler module defines one subclass and ``HANDLER``, its instance."""

    cause: ClassVar[Cause]

    @abstractmethod
    def why(self, sc: Scenario) -> str:
        """Why the rollout can violate a property with this cause."""

    def why_given(self, sc: Scenario, gf: GraphFacts | None) -> str:
        """``why``, with what the rollout's state graph says where a cause words more with it."""
        return self.why(sc)

    @abstractmethod
    def blame(self, sc: Scenario) -> list[Blame]:
        """The manifest lines that let it happen, the first the one the trace points at."""

    @abstractmethod
    def fix(self, sc: Scenario, prop: Property, gf: GraphFacts | None) -> str:
        """The smallest change that closes it (the checker verifies the ones it computes)."""

    def describe(self, w: Witness) -> str:
        """What the client experiences, in the words of the cause."""
        return claim_fails(w)

    def routing(self, pod: str, removal: float | None) -> str:
        """The kube-proxy step before the violation: it routes to ``pod``, whose removal from
        the node's rules applies at ``removal`` (None: not within the run)."""
        until = f" (its removal applies at t={removal:.2f}s)" if removal is not None else ""
        return f"still routes to {pod}{until}"

    def fix_plan(self, sc: Scenario, prop: Property, gf: GraphFacts | None) -> "FixPlan":
        """The fix in words and, where the cause computes one the checker verified, as data
        with the scenario it makes (for replaying the same run with the fix)."""
        return FixPlan(self.fix(sc, prop, gf))

    def answer(self, sc: Scenario, prop: Property, gf: GraphFacts | None) -> tuple[list[Blame], str, "FixPlan"]:
        """Blamed lines, why and fix of a counterexample to ``prop``. A completion claim
        reported under another cause than ``stalled`` gets the property's own remediation:
        the fixes the other causes compute are timings the checker verifies on ``never``
        claims, which say nothing about a rollout that does not finish."""
        if prop.claim.kind is ClaimKind.COMPLETES and self.cause is not Cause.STALLED:
            return self.blame(sc), self.why_given(sc, gf), FixPlan(prop.remediation)
        return self.blame(sc), self.why_given(sc, gf), self.fix_plan(sc, prop, gf)


@dataclass(frozen=True)
class FixPlan:
    """A fix: its words, its edits as data, and the scenario with it applied (None when the
    fix is advice the model does not apply, such as a strategy change)."""

    text: str
    edits: tuple[FixEdit, ...] = ()
    variant: Scenario | None = None
