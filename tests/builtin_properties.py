"""The tests' lookup of a built-in property by its slug (the product resolves properties by
id or name through ``registry.select`` and by cause in ``model/causes``; no product code
looks one up by slug)."""
from __future__ import annotations

from zdverify.model.verdict import Property
from zdverify.specs.registry import builtin


def builtin_by_slug(slug: str) -> Property:
    return next(p for p in builtin() if p.slug == slug)
