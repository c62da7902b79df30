from __future__ import annotations

from typing import Iterator

import pytest

from zdverify.dataplane import DataPlane, DataPlaneError, unavailable


@pytest.fixture
def plane() -> Iterator[DataPlane]:
    """One node with two pods (10.110.0.2 and 10.110.1.2), removed after the test."""
    why = unavailable()
    if why:
        pytest.skip(why)
    made = DataPlane(1, [0, 0])
    try:
        try:
            made.build()
        except DataPlaneError as e:
            pytest.skip(f"cannot build network namespaces here: {e}")
        yield made
    finally:
        made.close()
