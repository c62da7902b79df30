"""Exec probes that check the served port (model/exec_probes.py), and fixes that say what
they replace."""
from __future__ import annotations

from pathlib import Path

import pytest

from zdverify.api import verify
from zdverify.model.exec_probes import checked_port

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("command,port", [
    (["podcli", "check", "http", "localhost:9898/readyz"], 9898),
    (["podcli", "check", "tcp", "localhost:9999"], 9999),
    (["curl", "-f", "http://localhost:8080/healthz"], 8080),
    (["curl", "-fs", "localhost:9090/-/ready"], 9090),
    (["curl", "http://localhost/"], 80),
    (["curl", "-k", "https://127.0.0.1/health"], 443),
    (["wget", "-q", "-O-", "http://127.0.0.1:3000/"], 3000),
    (["wget", "--spider", "http://$(POD_IP):8080/ready"], 8080),
    (["grpc_health_probe", "-addr=:9555"], 9555),
    (["/bin/grpc_health_probe", "-addr", "localhost:50051"], 50051),
    (["nc", "-z", "localhost", "6379"], 6379),
    (["nc", "-zv", "-w", "1", "127.0.0.1", "5432"], 5432),
    (["sh", "-c", "curl -sf http://localhost:8080/ready || exit 1"], 8080),
    (["/bin/sh", "-c", "test -f /tmp/ok && wget -q -O /dev/null http://localhost:8081/"], 8081),
])
def test_common_port_checks_are_recognised(command: list[str], port: int) -> None:
    assert checked_port(command) == port


@pytest.mark.parametrize("command", [
    ["cat", "/tmp/healthy"],
    ["curl", "http://example.com:8080/"],  # another host
    ["sh", "-c", "curl http://localhost:8080/ ; exit 0"],  # succeeds whatever curl says
    ["sh", "-c", "curl http://localhost:8080/ || true"],
    ["sh", "-c", "redis-cli ping"],
    ["nc", "localhost", "6379"],  # without -z: waits for input
    ["curl", "http://localhost:1/", "http://localhost:2/"],  # which one?
])
def test_anything_else_is_not_taken_for_a_port_check(command: list[str]) -> None:
    assert checked_port(command) is None


def _podinfo(tmp_path: Path, command: str, annotation: str = "") -> str:
    text = (DATA / "podinfo-exec-probes.yaml").read_text().replace("{command}", command)
    if annotation:
        text = text.replace("metadata:\n  name: podinfo\n", f"metadata:\n  name: podinfo\n  annotations:\n"
                            f"    {annotation}\n", 1)
        assert annotation in text
    f = tmp_path / "podinfo.yaml"
    f.write_text(text)
    return str(f)


def test_podinfos_own_readyz_check_proves_startup(tmp_path: Path) -> None:
    [r] = verify([_podinfo(tmp_path, "[podcli, check, http, localhost:9898/readyz]")], select=["startup"]).results
    assert r.verdict.value == "proved"


def test_an_unrecognised_command_gets_a_fix_that_says_what_it_replaces(tmp_path: Path) -> None:
    path = _podinfo(tmp_path, "[/bin/check-ready]")
    [r] = verify([path], select=["startup"]).results
    assert r.verdict.value == "counterexample"
    assert "readinessProbe at" in r.fix and "exec '/bin/check-ready'" in r.fix and "replace it" in r.fix
    assert 'zdverify/exec-probe-port: "9898"' in r.fix
    stated = _podinfo(tmp_path, "[/bin/check-ready]", 'zdverify/exec-probe-port: "9898"')
    [r] = verify([stated], select=["startup"]).results
    assert r.verdict.value == "proved"


def test_a_prestop_fix_keeps_an_existing_shutdown_command(tmp_path: Path) -> None:
    text = (DATA / "podinfo-exec-probes.yaml").read_text().replace("{command}", "[podcli, check, tcp, localhost:9898]")
    text = text.replace("        ports:\n", "        lifecycle: {preStop: {exec: {command: [/bin/drain, --now]}}}\n"
                        "        ports:\n", 1)
    f = tmp_path / "drain.yaml"
    f.write_text(text)
    [r] = verify([str(f)], select=["termination"]).results
    assert r.verdict.value == "counterexample"
    assert "this replaces the preStop exec '/bin/drain --now'" in r.fix
    assert '"sh", "-c", "sleep ' in r.fix and '&& /bin/drain --now"' in r.fix
