"""The application inside the serving container.

Simplifications:
 1. The application accepts connections on the Service's target port from ``listen`` =
    container start + ``app-startup`` on, and never fails afterwards.
 2. On SIGTERM it stops accepting connections after ``app-close`` (default 0 s: it closes
    its listener at once, like nginx or Go's ``Server.Shutdown``), finishes the requests
    it accepted (each lasts at most ``request``) and exits.
 3. A preStop hook that may stop the application (anything but a plain ``sleep``) may
    close the listener at any moment after its leading sleep.
 4. Pooled clients (``zdverify/keep-alive``, opt-in): a client's idle keep-alive connection
    to an old pod stays there whatever the endpoints say; it is closed under the client
    when the application stops accepting (``close-idle``), or at exit if it may have stayed
    idle through the whole drain (``connection-close``; the clients' idle timeout, when
    stated and shorter than SIGTERM -> exit, closes it first). A request racing that close
    fails; clients that retry on a closed idle connection are not modelled.
The close delay is the ``app-close`` bound (``model/assumptions.py``).
"""
from __future__ import annotations

import z3

from zdverify.model.assumptions import IdleConnections, Interval
from zdverify.model.run import NEVER

from zdverify.model.checker.encoding import Encoding


def listen(enc: Encoding, pod: str, start: z3.ArithRef) -> z3.ArithRef:
    """When a new pod's application accepts connections."""
    t = enc.real(f"{pod}.listen")
    enc.add(t == start + enc.within(f"{pod}.app", enc.bound("app-startup")))
    return t


def close(enc: Encoding, pod: str, seen: z3.ArithRef, sigterm: z3.ArithRef) -> z3.ArithRef:
    """When an old pod's application stops accepting connections."""
    h = enc.sc.old.hook
    b = enc.bound("app-close")
    t = enc.real(f"{pod}.close")
    if h.may_stop_app:
        enc.add(t >= seen + h.serve_min, t <= sigterm + b.hi)
    else:
        enc.add(t == sigterm + enc.within(f"{pod}.close_delay", b))
    return t


def exit_time(enc: Encoding, pod: str, close_t: z3.ArithRef, kill: z3.ArithRef) -> z3.ArithRef:
    """The application exits once its accepted requests are done, or at SIGKILL."""
    drain = enc.within(f"{pod}.drain", Interval(0, enc.bound("request").hi))
    t = enc.real(f"{pod}.exit")
    enc.add(t == z3.If(close_t + drain <= kill, close_t + drain, kill))
    return t


def request(enc: Encoding, name: str) -> z3.ArithRef:
    return enc.within(f"{name}.duration", enc.bound("request"))


def pooled_closed(enc: Encoding, close: z3.ArithRef, sigterm: z3.ArithRef, exit_t: z3.ArithRef) -> z3.ArithRef:
    """When an old pod's application closes a pooled client's idle keep-alive connection under
    it (``zdverify/keep-alive``): when it stops accepting (``close-idle``), or at its exit when
    the connection may have stayed idle through the drain (``connection-close``: every request
    after SIGTERM gets ``Connection: close``; a connection idle from SIGTERM to exit is still
    open unless the clients' idle timeout is shorter than that). NEVER without pooled clients."""
    ka = enc.sc.settings.keep_alive
    never = enc.const(NEVER)
    if ka is None:
        return never
    if ka.idle is IdleConnections.CLOSE:
        return close
    if ka.client_idle_timeout is None:
        return exit_t
    return z3.If(exit_t - sigterm < ka.client_idle_timeout, exit_t, never)
