"""Test configuration: hypothesis profiles.

- ``ci`` (loaded when ``CI`` is set): derandomised, so every CI run draws the same examples
  and a failure is reproducible from the commit alone.
- ``deep`` (``ZDVERIFY_HYPOTHESIS_PROFILE=deep``): the maintainers' deeper differential run —
  new random examples each time, many more of them (``ZDVERIFY_DIFF_EXAMPLES``, default
  1000 under this profile), and a failure prints the blob that replays it
  (``@reproduce_failure``); docs/testing.md says how to run it and use the blob.
- neither: hypothesis' defaults (random, the local example database replays past failures).

``ZDVERIFY_HYPOTHESIS_PROFILE`` wins over ``CI``.
"""
import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("deep", derandomize=False, print_blob=True)
PROFILE = os.environ.get("ZDVERIFY_HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "")
if PROFILE:
    settings.load_profile(PROFILE)
