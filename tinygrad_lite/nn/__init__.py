"""Neural-network building blocks, named as in PyTorch's `torch.nn`."""

from . import functional, init
from .layers import Flatten, Linear, ReLU, Sequential, Sigmoid, Softmax, Tanh
from .loss import CrossEntropyLoss
from .module import Module, ModuleList, Parameter

__all__ = [
    "CrossEntropyLoss",
    "Flatten",
    "Linear",
    "Module",
    "ModuleList",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "functional",
    "init",
]
