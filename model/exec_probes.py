"""Exec probes that check the served port.

An exec probe's success proves the served port accepts connections only when its command
connects to that port on the pod itself. The common forms are recognised; any other
command can be stated with the workload annotation ``zdverify/exec-probe-port: "PORT"``
(every exec probe of the pod connects to PORT and fails when it is refused).

1. ``curl URL`` and ``wget URL``: a URL on the pod itself (``localhost``, ``127.0.0.1``,
   ``[::1]``, ``0.0.0.0``, ``$(POD_IP)``-style variables) — both fail when the connection is
   refused, with or without ``-f``; the port is the URL's, else 80 (http) or 443 (https).
2. ``podcli check http HOST:PORT/...`` and ``podcli check tcp HOST:PORT`` (podinfo).
3. ``grpc_health_probe -addr=[HOST]:PORT`` (or ``-addr HOST:PORT``).
4. ``nc -z HOST PORT`` (``-zv``, ``-z -w 1`` …).
5. Each of these alone, or inside ``sh -c``/``bash -c`` as a chain joined by ``&&`` (every
   part must succeed), optionally ending in ``|| exit 1``. Anything else in a shell script
   (``;``, ``|``, ``||`` before other commands) is not recognised: it could succeed without
   the check.
"""
from __future__ import annotations

import re
import shlex
from typing import Sequence

EXEC_PROBE_PORT = "zdverify/exec-probe-port"

_LOCAL = re.compile(r"^(localhost|127\.0\.0\.1|\[::1\]|::1|0\.0\.0\.0|\$\(?\{?[A-Z_]*(POD_IP|HOST)[A-Z_]*\}?\)?|)$",
                    re.IGNORECASE)
_URL = re.compile(r"^(?:(https?)://)?([^/:]*|\[[^\]]*\]):?(\d+)?(?:/.*)?$")
_SHELLS = ("sh", "bash", "ash", "dash", "/bin/sh", "/bin/bash", "/bin/ash", "/bin/dash", "/usr/bin/env")


def checked_port(command: Sequence[str]) -> int | None:
    """The port on the pod itself whose refusal makes ``command`` fail, if recognised."""
    words = list(command)
    if len(words) >= 3 and words[0] in _SHELLS and words[1] in ("-c", "-ec", "-ce"):
        return _script(words[2])
    return _simple(words)


def _script(text: str) -> int | None:
    text = re.sub(r"\|\|\s*exit\s+1\s*$", "", text.strip())
    if re.search(r"(;|\|\||\||(?<!&)&(?!&)|`|\$\((?!\s*[A-Z_]*POD_IP))", text):
        return None
    ports = []
    for part in text.split("&&"):
        try:
            words = shlex.split(part)
        except ValueError:
            return None
        ports.append(_simple(words))
    found = [p for p in ports if p is not None]
    return found[0] if found else None


def _simple(words: list[str]) -> int | None:
    if not words:
        return None
    tool = words[0].rsplit("/", 1)[-1]
    args = words[1:]
    if tool in ("curl", "wget"):
        urls = [a for a in args if "://" in a or (not a.startswith("-") and re.match(r"^[\w.\[\]:$(){}-]+:\d+", a))]
        return _url_port(urls[0]) if len(urls) == 1 else None
    if tool == "podcli" and len(args) >= 3 and args[0] == "check" and args[1] in ("http", "tcp"):
        return _url_port(args[2])
    if tool == "grpc_health_probe":
        return _grpc(args)
    if tool in ("nc", "ncat", "netcat"):
        return _nc(args)
    return None


def _url_port(url: str) -> int | None:
    m = _URL.match(url)
    if m is None or not _LOCAL.match(m.group(2) or ""):
        return None
    if m.group(3):
        return int(m.group(3))
    return {"http": 80, "https": 443}.get((m.group(1) or "").lower())


def _grpc(args: list[str]) -> int | None:
    for i, a in enumerate(args):
        value = a.split("=", 1)[1] if a.startswith(("-addr=", "--addr=")) else (
            args[i + 1] if a in ("-addr", "--addr") and i + 1 < len(args) else None)
        if value is not None:
            host, _, port = value.rpartition(":")
            return int(port) if port.isdigit() and _LOCAL.match(host) else None
    return None


def _nc(args: list[str]) -> int | None:
    if not any(a.startswith("-") and "z" in a for a in args):
        return None  # without -z nc waits for input: not a plain port check
    plain = [a for i, a in enumerate(args) if not a.startswith("-") and not (i and args[i - 1] in ("-w", "-i"))]
    if len(plain) == 2 and _LOCAL.match(plain[0]) and plain[1].isdigit():
        return int(plain[1])
    return None
