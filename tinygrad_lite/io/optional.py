"""Optional dependencies, imported when a function needs them."""

from __future__ import annotations

import importlib
from typing import Any


def require(name: str, hint: str) -> Any:
    """The module `name`, or ImportError with the one line `hint` (how to install it)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        raise ImportError(hint) from None
