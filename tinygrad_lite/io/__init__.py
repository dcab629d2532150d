"""Files and other frameworks: ``save``/``load`` (.npz, never pickle), ONNX export
(:mod:`.onnx`) and the PyTorch bridge (:mod:`.interop`), all written through one atomic
writer (:mod:`.atomic`). onnx and torch are imported when a function needs them."""

from . import interop, onnx
from .serialization import load, save

__all__ = ["interop", "load", "onnx", "save"]
