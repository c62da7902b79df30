"""The property registry: the built-in spec file, user spec files (``--spec``), selection
(``--property``). Properties are data; nothing here knows what any of them means."""
from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Iterable, Sequence

from zdverify.grammar.spec_language import SpecProperty, parse_specs
from zdverify.model.load import decode_text, read_capped
from zdverify.model.source import InputError
from zdverify.model.verdict import Cause, Property

BUILTIN_FILE = "specs/builtin.zds"


def _property(sp: SpecProperty, builtin: bool) -> Property:
    description = sp.field("description")
    name = sp.field("name") or "".join(w.capitalize() for w in sp.slug.split("-"))
    title = sp.field("title") or _claim_title(description)
    return Property(sp.rule_id, sp.slug, name, title, description, sp.field("explanation", description),
                    sp.field("remediation"), Cause(sp.field("cause")), sp.claim, sp.text, sp.loc, builtin)


def _claim_title(description: str) -> str:
    """``A request can reach …`` -> ``never: a request can reach …``."""
    text = description.rstrip(".")
    return "never: " + text[:1].lower() + text[1:]


@cache
def builtin() -> tuple[Property, ...]:
    text = resources.files("zdverify.specs").joinpath("builtin.zds").read_text()
    return tuple(_property(sp, True) for sp in parse_specs(text, BUILTIN_FILE))


def load(paths: Sequence[str]) -> tuple[Property, ...]:
    """The built-ins, then each spec file's properties; ids and names must be unique."""
    out = list(builtin())
    seen_id = {p.rule_id: p for p in out}
    seen_slug = {p.slug: p for p in out}
    for path in paths:
        try:
            raw = read_capped(path)
        except OSError as e:
            raise InputError(f"--spec: cannot read {path}: {e.strerror or e}") from None
        text = decode_text(raw, path)
        for sp in parse_specs(text, path):
            p = _property(sp, False)
            for key, seen, what in ((p.rule_id, seen_id, "id"), (p.slug, seen_slug, "name")):
                if key in seen:
                    other = seen[key]
                    where = f"built in ({other.rule_id})" if other.builtin else f"at {other.source}"
                    raise InputError(f"property {what} {key!r} is already defined {where}",
                                     sp.loc)
            seen_id[p.rule_id] = p
            seen_slug[p.slug] = p
            out.append(p)
    return tuple(out)


def select(props: Iterable[Property], wanted: Sequence[str], what: str = "--property") -> tuple[Property, ...]:
    """Keep the properties named by id (ZDV002) or name (termination); none named: all."""
    props = tuple(props)
    if not wanted:
        return props
    keep = []
    for w in wanted:
        match = [p for p in props if w in (p.rule_id, p.slug)]
        if not match:
            known = ", ".join(f"{p.rule_id} ({p.slug})" for p in props)
            raise InputError(f"{what}: unknown property {w!r}; known: {known}")
        keep.extend(m for m in match if m not in keep)
    order = {p.rule_id: i for i, p in enumerate(props)}
    return tuple(sorted(keep, key=lambda p: order[p.rule_id]))
