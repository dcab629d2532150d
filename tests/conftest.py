"""The examples' shared code (examples.common) is imported by tests as a package of the
repository, which is not installed: put the repository first on the path."""

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parent.parent)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
