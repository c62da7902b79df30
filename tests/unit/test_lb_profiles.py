"""Load-balancer health-check profiles: the built-in ones (with their sources) and the ones
users describe in the cluster file (``loadBalancer:`` as a mapping), each error located."""
from __future__ import annotations

from pathlib import Path

import pytest

from zdverify import verify
from zdverify.model.assumptions import LB_PROFILES, Cadence, Settings, settings
from zdverify.model.cluster import load_cluster
from zdverify.model.source import InputError
from zdverify.model.verdict import Assumption

ROOT = Path(__file__).resolve().parents[2]
# line 1: nodes, 2: loadBalancer, 3: name, 4: interval, 5: timeout, 6: healthy, 7: unhealthy
CUSTOM = """\
nodes: [{name: a-1}, {name: b-1}]
loadBalancer:
  name: my-haproxy
  interval: 5s
  timeout: 2s
  healthyThreshold: 2
  unhealthyThreshold: 3
"""


def write(tmp_path: Path, text: str) -> str:
    f = tmp_path / "cluster.yaml"
    f.write_text(text)
    return str(f)


def lb_assumption(s: Settings) -> Assumption:
    return next(a for a in s.assumptions() if a.key == "load-balancer")


def test_alibaba_profile_has_the_clb_defaults_and_cites_them() -> None:
    p = LB_PROFILES["alibaba-slb"]
    assert (p.interval, p.timeout, p.healthy, p.unhealthy) == (2, 5, 3, 3)
    assert "https://www.alibabacloud.com/help/doc-detail/55205.htm" in p.source
    assert "cloud-provider-alibaba-cloud" in p.source
    assert settings(lb="alibaba-slb").lb is p


def test_every_built_in_profile_is_usable_and_sourced() -> None:
    for name, p in LB_PROFILES.items():
        assert p.name == name and p.source and p.stated_at is None
        assert p.interval > 0 and p.timeout >= 0 and p.healthy >= 1 and p.unhealthy >= 1


def test_custom_mapping_is_parsed(tmp_path: Path) -> None:
    path = write(tmp_path, CUSTOM)
    lb = load_cluster(path).lb
    assert lb is not None
    assert (lb.name, lb.interval, lb.timeout, lb.healthy, lb.unhealthy) == ("my-haproxy", 5, 2, 2, 3)
    assert lb.source == "custom profile"
    assert lb.stated_at is not None and (lb.stated_at.file, lb.stated_at.line) == (path, 2)


def test_name_defaults_to_custom_and_durations_use_the_grammar(tmp_path: Path) -> None:
    lb = load_cluster(write(tmp_path, "nodes: [{name: a}]\nloadBalancer: {interval: 1m30s, timeout: 500ms, "
                                      "healthyThreshold: 1, unhealthyThreshold: 10}\n")).lb
    assert lb is not None and (lb.name, lb.interval, lb.timeout) == ("custom", 90, 0.5)


def test_base_with_overrides(tmp_path: Path) -> None:
    lb = load_cluster(write(tmp_path, "nodes: [{name: a}]\nloadBalancer:\n  name: tuned-nlb\n  base: aws-nlb\n"
                                      "  interval: 5s\n  unhealthyThreshold: 2\n")).lb
    nlb = LB_PROFILES["aws-nlb"]
    assert lb is not None
    assert (lb.name, lb.interval, lb.timeout, lb.healthy, lb.unhealthy) == ("tuned-nlb", 5, nlb.timeout, nlb.healthy, 2)
    assert lb.source.startswith("custom profile starting from aws-nlb, with interval, unhealthyThreshold changed")
    assert nlb.source in lb.source


def test_base_alone_keeps_its_numbers_under_the_new_name(tmp_path: Path) -> None:
    lb = load_cluster(write(tmp_path, "nodes: [{name: a}]\nloadBalancer: {base: alibaba-slb}\n")).lb
    ali = LB_PROFILES["alibaba-slb"]
    assert lb is not None and lb.name == "custom"
    assert (lb.interval, lb.timeout, lb.healthy, lb.unhealthy) == (ali.interval, ali.timeout, ali.healthy, ali.unhealthy)


def test_timeout_may_exceed_the_interval_and_may_be_zero(tmp_path: Path) -> None:
    # Alibaba CLB's own default is a 5 s timeout against a 2 s interval
    for timeout in ("5s", "0s"):
        lb = load_cluster(write(tmp_path, CUSTOM.replace("interval: 5s", "interval: 2s")
                                .replace("timeout: 2s", f"timeout: {timeout}"))).lb
        assert lb is not None and lb.interval == 2 and lb.timeout == float(timeout[:-1])


def test_a_profile_name_still_works(tmp_path: Path) -> None:
    lb = load_cluster(write(tmp_path, "nodes: [{name: a}]\nloadBalancer: alibaba-slb\n")).lb
    assert lb is LB_PROFILES["alibaba-slb"]


def custom(old: str, new: str) -> str:
    assert old in CUSTOM
    return CUSTOM.replace(old, new)


@pytest.mark.parametrize("text,line,words", [
    (custom("interval: 5s", "interval: 5"), 4, ["loadBalancer.interval:", "with its unit", "got 5"]),
    (custom("interval: 5s", "interval: 5x"), 4, ["loadBalancer.interval:", "expected a duration", "got '5x'"]),
    (custom("interval: 5s", "interval: 0s"), 4, ["loadBalancer.interval:", "above 0s", "got '0s'"]),
    (custom("interval: 5s", "interval: 1s..5s"), 4, ["loadBalancer.interval:", "not a range", "got '1s..5s'"]),
    (custom("interval: 5s", "interval: [5s]"), 4, ["loadBalancer.interval:", "expected a duration", "got ['5s']"]),
    (custom("timeout: 2s", "timeout: soon"), 5, ["loadBalancer.timeout:", "expected a duration", "got 'soon'"]),
    (custom("timeout: 2s", "timeout: 2"), 5, ["loadBalancer.timeout:", "such as 2s"]),
    (custom("healthyThreshold: 2", "healthyThreshold: 0"), 6, ["loadBalancer.healthyThreshold:", "1 or more",
                                                               "got 0"]),
    (custom("healthyThreshold: 2", "healthyThreshold: yes"), 6, ["loadBalancer.healthyThreshold:", "got True"]),
    (custom("unhealthyThreshold: 3", "unhealthyThreshold: 2.5"), 7, ["loadBalancer.unhealthyThreshold:",
                                                                     "got 2.5"]),
    (custom("unhealthyThreshold: 3", 'unhealthyThreshold: "3"'), 7, ["loadBalancer.unhealthyThreshold:",
                                                                     "got '3'"]),
    (custom("interval: 5s", "intervall: 5s"), 4, [
        "loadBalancer: unknown key 'intervall'",
        "known keys: name, base, interval, timeout, healthyThreshold, unhealthyThreshold"]),
    (custom("name: my-haproxy", "name: aws-nlb"), 3, ["loadBalancer.name:", "'aws-nlb' is a built-in profile"]),
    (custom("name: my-haproxy", "name: 42"), 3, ["loadBalancer.name:", "expected a profile name", "got 42"]),
    (custom("name: my-haproxy", "name: x\n  base: alibaba"), 4, ["loadBalancer.base:",
                                                                "unknown load-balancer profile 'alibaba'",
                                                                "alibaba-slb"]),
    (custom("  timeout: 2s\n", ""), 2, ["loadBalancer: missing timeout", "without base"]),
    ("nodes: [{name: a}]\nloadBalancer: [aws-nlb]\n", 2, ["loadBalancer: expected a profile name or a mapping",
                                                           "got ['aws-nlb']"]),
])
def test_each_error_is_located(tmp_path: Path, text: str, line: int, words: list[str]) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as e:
        load_cluster(path)
    assert e.value.loc is not None and (e.value.loc.file, e.value.loc.line) == (path, line), e.value
    for w in words:
        assert w in e.value.message, e.value.message


def test_assumptions_name_the_custom_profile_and_its_origin(tmp_path: Path) -> None:
    path = write(tmp_path, CUSTOM)
    a = lb_assumption(settings(cluster=load_cluster(path)))
    assert a.value == ("my-haproxy: every 5s, timeout 2s, unhealthy after 3, healthy after 2, no fail-open, next "
                       "check after the previous answer")
    assert a.origin == "cluster file" and a.source is not None and (a.source.file, a.source.line) == (path, 2)
    assert a.note.startswith("custom profile; with no healthy target: custom profile without failOpen")


def test_the_lb_flag_wins_over_a_custom_profile(tmp_path: Path) -> None:
    a = lb_assumption(settings(lb="gcp", cluster=load_cluster(write(tmp_path, CUSTOM))))
    assert a.value.startswith("gcp: every 8s") and a.origin == "flag" and a.source is None


def test_the_custom_profile_reaches_the_proof(tmp_path: Path) -> None:
    """preStop 30 s on a Local Service: a load balancer that drops a node within 3 x 5 s + 2 s
    leaves no window; one that takes 3 x 20 s does."""
    manifest = str(ROOT / "examples/recommended-local.yaml")
    fast = verify([manifest], cluster=write(tmp_path, CUSTOM))
    a = next(x for x in fast.results[0].assumptions if x.key == "load-balancer")
    assert a.value.startswith("my-haproxy:") and a.origin == "cluster file"
    slow = verify([manifest], cluster=write(tmp_path, CUSTOM.replace("interval: 5s", "interval: 20s")))
    verdict = {r.property.value: r.verdict.value for r in fast.results}
    assert verdict["no-endpoint"] == "proved"
    assert {r.property.value: r.verdict.value for r in slow.results}["no-endpoint"] == "counterexample"


def test_fail_open_comes_from_the_profile_the_base_or_the_cluster_file(tmp_path: Path) -> None:
    """With no healthy target a load balancer fails open (AWS NLB, GCP passthrough) or sends
    to none (Azure's default, AWS CLB); a custom profile inherits its base's behaviour, or
    states it (``failOpen``), and without either sends to none (every connection fails)."""
    assert LB_PROFILES["aws-nlb"].fail_open and LB_PROFILES["gcp"].fail_open and LB_PROFILES["generic"].fail_open
    assert not LB_PROFILES["azure"].fail_open and not LB_PROFILES["aws-clb"].fail_open
    assert all(p.fail_open_source for p in LB_PROFILES.values())
    plain = load_cluster(write(tmp_path, CUSTOM)).lb
    assert plain is not None and not plain.fail_open
    based = load_cluster(write(tmp_path, "nodes: [{name: a}]\nloadBalancer: {base: aws-nlb, interval: 5s}\n")).lb
    assert based is not None and based.fail_open and based.fail_open_source == LB_PROFILES["aws-nlb"].fail_open_source
    stated = load_cluster(write(tmp_path, CUSTOM + "  failOpen: true\n")).lb
    assert stated is not None and stated.fail_open and "failOpen" in stated.fail_open_source
    path = write(tmp_path, CUSTOM + "  failOpen: sometimes\n")
    with pytest.raises(InputError) as e:
        load_cluster(path)
    assert e.value.loc is not None and (e.value.loc.file, e.value.loc.line) == (path, 8)
    assert "failOpen: expected true or false" in e.value.message


def test_cadence_is_after_answer_unless_stated_or_inherited(tmp_path: Path) -> None:
    """haproxy starts the next check ``inter`` after the previous one finished; a custom
    profile without base gets that cadence (its bounds cover fixed-rate checks too), one
    with a base inherits the cloud's fixed rate; the removal bound grows by a timeout per
    check."""
    plain = load_cluster(write(tmp_path, CUSTOM)).lb
    assert plain is not None and plain.cadence is Cadence.AFTER_ANSWER
    assert (plain.gap, plain.removal_max, plain.add_max) == (7, 3 * 7 + 2, 2 * 7 + 2)
    based = load_cluster(write(tmp_path, "nodes: [{name: a}]\nloadBalancer: {base: aws-nlb}\n")).lb
    assert based is not None and based.cadence is Cadence.FIXED and based.removal_max == 3 * 10 + 6
    stated = load_cluster(write(tmp_path, CUSTOM + "  cadence: fixed-rate\n")).lb
    assert stated is not None and stated.cadence is Cadence.FIXED
    path = write(tmp_path, CUSTOM + "  cadence: sometimes\n")
    with pytest.raises(InputError) as e:
        load_cluster(path)
    assert e.value.loc is not None and e.value.loc.line == 8 and "fixed-rate or after-answer" in e.value.message
    path = write(tmp_path, "nodes: [{name: a}]\nloadBalancer: {base: aws-alb-ip, cadence: after-answer}\n")
    with pytest.raises(InputError) as e:
        load_cluster(path)
    assert "not modelled for pod IP targets" in e.value.message
