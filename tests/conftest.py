"""Settings the whole suite shares: the repository on the path, and Hypothesis's profile.

Hypothesis: the suite runs the same examples on every run, so a run's result does not depend on
chance, on the machine's speed or on what an earlier run left behind:

- ``derandomize=True``: examples are drawn from a seed derived from each test, not at random;
- ``database=None``: no ``.hypothesis/`` folder is read or written, so no example saved by an
  earlier run is replayed;
- ``deadline=None`` and no ``too_slow`` health check: nothing depends on how long an example
  takes (a loaded machine is slow, not wrong).

``HYPOTHESIS_PROFILE=explore pytest`` draws new examples at random (with the example database)
to hunt for failures; a failure it finds is printed with the example, to be added as a case.
A test's own ``@settings`` (example counts) keeps the rest of the profile.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

_STEADY = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True)

settings.register_profile("ci", derandomize=True, database=None, **_STEADY)
settings.register_profile("explore", **_STEADY)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# The examples' shared code (examples.common) is imported as a package of the repository,
# which is not installed: the repository goes first on the path.
ROOT = str(Path(__file__).resolve().parent.parent)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
