"""The version of tinygrad_lite (setup.cfg says the same)."""

__version__ = "0.1.0"
