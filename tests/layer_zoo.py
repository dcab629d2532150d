"""Test models shared by the export and bridge tests (tests/test_onnx.py, tests/test_interop.py)."""

from __future__ import annotations

from collections import OrderedDict

import tinygrad_lite as tl
from tinygrad_lite import nn


def every_layer(dropout: float = 0.3) -> nn.Sequential:
    """Every layer that converts, nested Sequentials with names, BN with and without stats."""
    tl.manual_seed(0)
    features = nn.Sequential(OrderedDict([
        ("conv", nn.Conv2d(2, 4, 3, stride=2, padding=1)),
        ("bn", nn.BatchNorm2d(4, momentum=None)),
        ("act", nn.LeakyReLU(0.2)),
        ("pool", nn.MaxPool2d(3, stride=1, padding=1)),
        ("conv2", nn.Conv2d(4, 3, (3, 1), padding=(1, 0), bias=False)),
        ("gelu", nn.GELU()),
        ("avg", nn.AvgPool2d(2, padding=1)),
        ("bn_batch", nn.BatchNorm2d(3, affine=False, track_running_stats=False)),
    ]))
    return nn.Sequential(OrderedDict([
        ("features", features),
        ("flat", nn.Flatten()),
        ("drop", nn.Dropout(dropout)),
        ("fc", nn.Linear(27, 12)),
        ("bn1", nn.BatchNorm1d(12)),
        ("tanh_gelu", nn.GELU(approximate="tanh")),
        ("sig", nn.Sigmoid()),
        ("id", nn.Identity()),
        ("fc2", nn.Linear(12, 12)),
        ("tanh", nn.Tanh()),
        ("relu", nn.ReLU()),
        ("soft", nn.Softmax(dim=1)),
        ("log", nn.LogSoftmax(dim=1)),
        ("out", nn.Linear(12, 5)),
    ]))
