"""Cause ``connection-reuse``: a pooled (keep-alive) client's request meets a connection its
old pod closed under it (opt-in: the workload states its pooled clients with
``zdverify/keep-alive``). kube-proxy clears conntrack entries for UDP only, so a pooled TCP
connection stays on its pod whatever the endpoints say."""
from __future__ import annotations

import math
from dataclasses import dataclass

from zdverify.model.assumptions import KEEP_ALIVE, ON_SIGTERM, IdleConnections
from zdverify.model.causes.handler import CauseHandler, Witness, claim_fails
from zdverify.model.checker.graph import GraphFacts
from zdverify.model.scenario import Scenario
from zdverify.model.verdict import Blame, Cause, Property


@dataclass(frozen=True)
class ConnectionReuse(CauseHandler):
    cause = Cause.CONNECTION_REUSE

    def why(self, sc: Scenario) -> str:
        ka = sc.settings.keep_alive
        if ka is None or ka.idle is IdleConnections.CLOSE:
            return ("a pooled client's idle connection stays on the old pod (kube-proxy clears conntrack for UDP "
                    "only); the application closes it when it stops accepting, and a request the client sends "
                    "on it at that moment fails")
        if ka.client_idle_timeout is None:
            return ("every request after SIGTERM gets 'Connection: close', but a connection that stays idle "
                    "through the drain is still open when the application exits; the clients keep idle "
                    "connections, so one may send on it just then")
        return (f"a connection idle through the drain is closed only by the clients' idle timeout "
                f"({ka.client_idle_timeout:g}s), and the drain (SIGTERM to exit) can be shorter: the application "
                "exits with it open, under a request the client sends just then")

    def blame(self, sc: Scenario) -> list[Blame]:
        w = sc.pair.workload
        ka = sc.settings.keep_alive
        loc = ka.loc if ka is not None and ka.loc is not None else w.loc
        return [Blame(loc, f"metadata.annotations.{KEEP_ALIVE}", ka.text if ka is not None else "pooled clients")]

    def fix(self, sc: Scenario, prop: Property, gf: GraphFacts | None) -> str:
        ka = sc.settings.keep_alive
        stated = ka.client_idle_timeout if ka is not None else None
        # unknown: Go's http.Transport closes idle connections after 90 s
        timeout = stated if stated is not None else 90.0
        drain = math.ceil(timeout) + 5
        grace = max(math.ceil(sc.old.grace),
                    math.ceil(sc.old.hook.hi) + drain + math.ceil(sc.settings["request"].hi) + 2)
        told = (f"{timeout:g}s" if stated is not None else
                "state it as client-idle-timeout — Go's http.Transport: 90s, Java's HttpClient: 20m")
        return (f'answer every request with "Connection: close" once SIGTERM arrives and keep serving longer than '
                f"the clients' idle timeout ({told}): annotations {KEEP_ALIVE}: \"connection-close, "
                f"client-idle-timeout {timeout:g}s\" and {ON_SIGTERM}: \"drain {drain}s\", with "
                f"terminationGracePeriodSeconds: {grace}; or make the clients retry a request that meets a "
                "closed idle connection")

    def routing(self, pod: str, removal: float | None) -> str:
        return f"conntrack keeps a pooled client's keep-alive connection whatever the endpoints say: it still routes to {pod}"

    def describe(self, w: Witness) -> str:
        if w.found is None or w.pod is None:
            return claim_fails(w)
        return (f"a pooled client's request on its idle keep-alive connection to {w.pod.name} meets the "
                f"connection the application closed: it fails (reset)")


HANDLER = ConnectionReuse()
