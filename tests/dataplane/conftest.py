from __future__ import annotations

from typing import Iterator

import pytest

from dataplane.netns import Lab, missing


@pytest.fixture
def lab() -> Iterator[Lab]:
    why = missing()
    if why:
        pytest.skip(why)
    made = Lab()
    try:
        yield made.start()
    finally:
        made.close()
