"""The config file: defaults a repository keeps next to its manifests.

``--config PATH``, else ``.zdverify.yaml`` / ``.zdverify.yml`` in the working directory::

    nodes: 3            # or: cluster: cluster.yaml (named nodes, see model/cluster.py)
    k8s-version: "1.34"
    lb: aws-nlb         # load-balancer profile, like --lb
    format: text
    reports:            # written on every run, like --report FMT=PATH
      sarif: zdverify.sarif
      markdown: zdverify.md
    assume:             # like --assume KEY=RANGE
      app-startup: 0s..30s
    soft-fail: false
    allow-empty: false
    specs: [team.zds]   # more properties, like --spec (relative to this file)
    properties: [ZDV002, zone-capacity]   # check only these, like --property
    suppress:           # like zdverify/ignore-<property> annotations
      - workload: Deployment/default/web   # optional; any workload when absent
        service: Service/default/web       # optional
        property: termination              # or "all"
        reason: "accepted until the drain endpoint ships (JIRA-42)"

Flags given on the command line win over the file. Errors are located in the file.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zdverify.model.assumptions import lb_profile, parse_bound, parse_version
from zdverify.model.cluster import MAX_NODES
from zdverify.model.load import Document, load_settings_file
from zdverify.model.source import InputError, Loc
from zdverify.model.suppression import Suppression, parse_property

FORMATS = ("text", "json", "markdown", "sarif", "junit", "github")
DISCOVERED = (".zdverify.yaml", ".zdverify.yml")
_KEYS = ("nodes", "cluster", "k8s-version", "lb", "format", "reports", "assume", "soft-fail", "allow-empty", "suppress",
         "specs", "properties")


@dataclass(frozen=True)
class Config:
    nodes: int | None = None
    cluster: str | None = None
    k8s_version: str | None = None
    lb: str | None = None
    format: str | None = None
    reports: tuple[tuple[str, str], ...] = ()
    assume: dict[str, str] = field(default_factory=dict)
    soft_fail: bool = False
    allow_empty: bool = False
    suppress: tuple[Suppression, ...] = ()
    specs: tuple[str, ...] = ()  # spec files, like --spec
    properties: tuple[str, ...] = ()  # ids or names, like --property
    path: str | None = None


def find(explicit: str | None, cwd: Path | None = None) -> str | None:
    if explicit is not None:
        return explicit
    here = cwd or Path.cwd()
    for name in DISCOVERED:
        if (here / name).is_file():
            return name
    return None


def load(path: str | None) -> Config:
    """The config at ``path`` (None: no config file, all defaults)."""
    if path is None:
        return Config()
    doc = load_settings_file(path, "config")
    if doc is None:
        return Config(path=path)
    return _parse(doc, path)


def _parse(doc: Document, path: str) -> Config:
    data: dict[str, Any] = doc.data
    loc = doc.at
    doc.check_keys(_KEYS)

    def typed(key: str, kind: type, what: str) -> Any:
        value = data.get(key)
        if value is not None and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
            raise InputError(f"{key}: expected {what}, got {value!r}", loc(key))
        return value

    nodes = typed("nodes", int, "an integer")
    if nodes is not None and not 1 <= nodes <= MAX_NODES:
        raise InputError(f"nodes: expected 1..{MAX_NODES:,}, got {nodes}", loc("nodes"))
    version = _version(data.get("k8s-version"), loc("k8s-version"))
    cluster = typed("cluster", str, "a cluster file name")
    lb = typed("lb", str, "a load-balancer profile name")
    if lb is not None:
        lb_profile(lb, loc("lb"), "lb")
    fmt = typed("format", str, "a string")
    if fmt is not None and fmt not in FORMATS:
        raise InputError(f"format: expected one of {', '.join(FORMATS)}, got {fmt!r}", loc("format"))
    reports = typed("reports", dict, "a mapping of format to file") or {}
    for name, target in reports.items():
        if name not in FORMATS:
            raise InputError(f"reports: unknown format {name!r}; formats: {', '.join(FORMATS)}",
                             loc("reports", name))
        if not isinstance(target, str) or not target:
            raise InputError(f"reports.{name}: expected a file name", loc("reports", name))
        inside = Path(path).resolve().parent
        if Path(target).is_absolute() or not (inside / target).resolve().is_relative_to(inside):
            raise InputError(f"reports.{name}: {target!r} leaves the directory of the config file; a repository's "
                             "config writes only inside it (use --report for other places)", loc("reports", name))
    assume = typed("assume", dict, "a mapping of bound to range") or {}
    for key, text in assume.items():  # checked here, at their lines, not later as if they were flags
        parse_bound(str(key), str(text), "assume", loc("assume", key))
    suppress = typed("suppress", list, "a list") or []
    lists = {}
    for key in ("specs", "properties"):
        items = typed(key, list, "a list of strings") or []
        for i, item in enumerate(items):
            if not isinstance(item, str) or not item:
                raise InputError(f"{key}[{i}]: expected a string, got {item!r}", loc(key, i))
        lists[key] = tuple(items)
    base = Path(path).parent
    return Config(
        specs=tuple(str(base / s) if not Path(s).is_absolute() else s for s in lists["specs"]),
        properties=lists["properties"],
        nodes=nodes, cluster=cluster, k8s_version=version, lb=lb, format=fmt, reports=tuple(reports.items()),
        assume={str(k): str(v) for k, v in assume.items()},
        soft_fail=bool(typed("soft-fail", bool, "true or false")),
        allow_empty=bool(typed("allow-empty", bool, "true or false")),
        suppress=tuple(_suppression(entry, i, loc) for i, entry in enumerate(suppress)),
        path=path,
    )


def _version(value: Any, where: Loc | None) -> str | None:
    """``k8s-version``: "1.34", or unquoted 1.34 (a float; 1.30 reads as 1.3, which no
    supported version is, so a one-digit minor is read as tens); checked at its line."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InputError(f"k8s-version: expected MAJOR.MINOR such as \"1.34\", got {value!r}", where)
    text = str(value)
    if isinstance(value, float):
        major, _, minor = repr(value).partition(".")
        text = f"{major}.{minor}0" if len(minor) == 1 else f"{major}.{minor}"
    try:
        parse_version(text)
    except InputError as e:
        raise InputError(e.message.replace("--k8s-version", "k8s-version"), where) from None
    return text


def _suppression(entry: Any, i: int, loc: Any) -> Suppression:
    where = loc("suppress", i)
    if not isinstance(entry, dict):
        raise InputError("suppress: each entry is a mapping with property and reason", where)
    unknown = set(entry) - {"workload", "service", "property", "reason"}
    if unknown:
        raise InputError(f"suppress: unknown key {sorted(unknown)[0]!r}", where)
    if not isinstance(entry.get("property"), str):
        raise InputError("suppress: property is required (a property name or \"all\")", where)
    reason = entry.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise InputError("suppress: reason is required", where)
    prop = parse_property(entry["property"], loc("suppress", i, "property"), "suppress")
    return Suppression(reason.strip(), where, prop, entry.get("workload"), entry.get("service"))
