"""The example scripts; :mod:`examples.common` is what they share."""
