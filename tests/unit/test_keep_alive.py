"""Pooled clients (issue F, item 5): the ``zdverify/keep-alive`` annotation, and when each
side says a pooled connection is closed under its client."""
from __future__ import annotations

import math

import pytest

from zdverify.model.assumptions import IdleConnections, KeepAlive, keep_alive
from zdverify.model.simulator.application import pooled_closed
from zdverify.model.source import InputError, Loc

LOC = Loc("web.yaml", 6)


def test_the_annotation_reads_the_mode_and_the_clients_idle_timeout() -> None:
    assert keep_alive("close-idle", LOC) == KeepAlive(IdleConnections.CLOSE, None, LOC)
    ka = keep_alive("connection-close, client-idle-timeout 1m30s", LOC)
    assert (ka.idle, ka.client_idle_timeout) == (IdleConnections.CONNECTION_CLOSE, 90)


@pytest.mark.parametrize("text,words", [
    ("sometimes", 'expected "close-idle" or "connection-close"'),
    ("close-idle, idle 5s", "client-idle-timeout <duration>"),
    ("connection-close, client-idle-timeout 5s..10s", "one duration, not a range"),
    ("connection-close, client-idle-timeout soon", "client-idle-timeout:"),
])
def test_a_bad_annotation_is_located(text: str, words: str) -> None:
    with pytest.raises(InputError) as e:
        keep_alive(text, LOC)
    assert e.value.loc == LOC and words in e.value.message


def test_when_a_pooled_connection_is_closed_under_its_client() -> None:
    """close-idle: when the application stops accepting; connection-close: at exit, unless
    the clients' idle timeout is at most the drain (SIGTERM to exit); never without pooled
    clients or for a pod never deleted."""
    close, sigterm, exit_t = 12.0, 10.0, 40.0
    assert pooled_closed(None, close, sigterm, exit_t) == math.inf
    assert pooled_closed(KeepAlive(IdleConnections.CLOSE, None), close, sigterm, exit_t) == close
    assert pooled_closed(KeepAlive(IdleConnections.CONNECTION_CLOSE, None), close, sigterm, exit_t) == exit_t
    assert pooled_closed(KeepAlive(IdleConnections.CONNECTION_CLOSE, 31.0), close, sigterm, exit_t) == exit_t
    assert pooled_closed(KeepAlive(IdleConnections.CONNECTION_CLOSE, 30.0), close, sigterm, exit_t) == math.inf
    assert pooled_closed(KeepAlive(IdleConnections.CLOSE, None), math.inf, math.inf, math.inf) == math.inf
