"""The application inside the serving container, the simulator's side.

Simplifications (as ``model/checker/application.py``):
 1. The application accepts connections on the Service's target port from ``listen`` =
    container start + ``app-startup`` on, and never fails afterwards.
 2. On SIGTERM it stops accepting connections after ``app-close`` (default 0 s: it closes
    its listener at once, like nginx or Go's ``Server.Shutdown``), finishes the requests
    it accepted (each lasts at most ``request``) and exits — or is killed at SIGKILL.
 3. A preStop hook that may stop the application (anything but a plain ``sleep``) may
    close the listener at any moment after its leading sleep.
 4. Pooled clients (``zdverify/keep-alive``): as the checker's ``pooled_closed``.
The close delay is the ``app-close`` bound (``model/assumptions.py``).
"""
from __future__ import annotations

import math

from zdverify.model.assumptions import IdleConnections, KeepAlive
from zdverify.model.run import NewTiming, OldTiming
from zdverify.model.simulator.state import SimPod, SimState


def listen(s: SimState, p: SimPod, nt: NewTiming) -> float:
    """When a new pod's application accepts connections (its container started at ``p.start``)."""
    bapp = s.sc.settings["app-startup"]
    return p.start + min(max(nt.app, bapp.lo), bapp.hi)


def close(s: SimState, p: SimPod, ot: OldTiming) -> float:
    """When an old pod's application stops accepting connections (after ``p.seen`` and
    ``p.sigterm``)."""
    h = s.sc.old.hook
    bclose = s.sc.settings["app-close"]
    if h.may_stop_app:
        span = (p.sigterm + bclose.hi) - (p.seen + h.serve_min)
        return p.seen + h.serve_min + min(max(ot.close, 0.0), span)
    return p.sigterm + min(max(ot.close, bclose.lo), bclose.hi)


def exit_time(s: SimState, p: SimPod, ot: OldTiming) -> float:
    """The application exits once its accepted requests are done, or at SIGKILL."""
    return min(p.close + min(max(ot.drain, 0.0), s.sc.settings["request"].hi), p.sigkill)


def pooled_closed(ka: KeepAlive | None, close: float, sigterm: float, exit_t: float) -> float:
    """When a pooled client's idle connection to an old pod is closed under it (inf: never)."""
    if ka is None or math.isinf(close):
        return math.inf
    if ka.idle is IdleConnections.CLOSE:
        return close
    if ka.client_idle_timeout is not None and exit_t - sigterm >= ka.client_idle_timeout:
        return math.inf
    return exit_t
