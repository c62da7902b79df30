"""Suppressions: results a team has accepted, with the reason, written next to the object.

An annotation ``zdverify/ignore-<property>: "<reason>"`` (or ``zdverify/ignore-all``) on
the workload or the Service, or an entry in the config file, marks matching results as
suppressed. Suppressed results stay in every report (as skipped, with the reason); only
the gate's verdict leaves them out.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from zdverify.model.objects import Located
from zdverify.model.source import InputError, Loc
from zdverify.model.verdict import Property, Result

PREFIX = "zdverify/ignore-"
ALL = "all"


@dataclass(frozen=True)
class Suppression:
    """Suppress ``property`` (or every property, ``None``) of matching results."""

    reason: str
    loc: Loc | None
    property: str | None = None  # a property's name (slug) or id
    workload: str | None = None  # "Deployment/<ns>/<name>"; None matches any
    service: str | None = None  # "Service/<ns>/<name>"; None matches any

    def matches(self, r: Result) -> bool:
        return ((self.property is None or self.property in (r.property.slug, r.property.rule_id))
                and (self.workload is None or self.workload == r.workload)
                and (self.service is None or self.service == r.service))


def parse_property(name: str, loc: Loc | None, what: str, known: Sequence[Property] | None = None) -> str | None:
    """``"termination"`` -> ``"termination"``; ``"all"`` -> None; a name no known property
    has (when ``known`` is given) is a located error."""
    if name == ALL:
        return None
    if known is not None and not any(name in (p.slug, p.rule_id) for p in known):
        names = ", ".join([p.slug for p in known] + [ALL])
        raise InputError(f"{what}: unknown property {name!r}; known: {names}", loc)
    return name


def check(suppressions: Sequence[Suppression], known: Sequence[Property]) -> None:
    """Every suppression names a known property (config entries are read before --spec)."""
    for s in suppressions:
        if s.property is not None:
            parse_property(s.property, s.loc, "suppress", known)


def from_annotations(obj: Located, annotations: dict[str, str], ref: str, known: Sequence[Property], *,
                     is_service: bool) -> list[Suppression]:
    out = []
    for key, reason in annotations.items():
        if not key.startswith(PREFIX):
            continue
        loc = obj.loc_of(f"metadata.annotations.{key}")
        prop = parse_property(key[len(PREFIX):], loc, f"annotation {key}", known)
        if not reason.strip():
            raise InputError(f'annotation {key}: give the reason, e.g. {key}: "accepted: see ticket 123"', loc)
        out.append(Suppression(reason.strip(), loc, prop,
                               None if is_service else ref, ref if is_service else None))
    return out


def apply(results: Sequence[Result], suppressions: Sequence[Suppression]) -> list[Result]:
    out = []
    for r in results:
        s = next((s for s in suppressions if s.matches(r)), None)
        out.append(replace(r, suppressed=s.reason, suppressed_by=s.loc) if s else r)
    return out
