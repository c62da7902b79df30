"""One handler per ``Cause``: why a property with that cause fails, the lines to blame, the
fix, and the violation's wording. The handler of cause ``c`` is ``HANDLER`` in the module
named after ``c.value`` (``no-endpoint`` -> ``no_endpoint.py``): a new cause is a ``verdict.Cause``
member, its word in the spec language (``grammar/spec_language.py`` ``CAUSES``) and one new
module here (``tests/unit/test_causes.py`` holds the three together)."""
from __future__ import annotations

from importlib import import_module

from zdverify.model.causes.handler import CauseHandler, Witness
from zdverify.model.verdict import Cause

__all__ = ["CauseHandler", "Witness", "handler"]


def handler(cause: Cause) -> CauseHandler:
    """The handler of ``cause``."""
    found = import_module(f"{__name__}.{cause.value.replace('-', '_')}").HANDLER
    assert isinstance(found, CauseHandler) and found.cause is cause, f"{cause}: wrong handler {found!r}"
    return found
