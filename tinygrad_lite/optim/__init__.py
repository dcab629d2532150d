"""Optimizers and learning-rate schedules, with PyTorch's update rules and API.

    opt = tl.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    opt = tl.optim.Adam([{"params": body, "lr": 1e-3}, {"params": head}], lr=1e-2)
    sched = tl.optim.lr_scheduler.StepLR(opt, step_size=10)   # also tl.optim.StepLR

An optimizer holds `param_groups` (dicts of parameters and options); `zero_grad()` clears
their `.grad`, `step()` updates `.data` in place from `.grad` (and bumps each updated
parameter's version). `optimizer.lr` reads / sets the lr of all groups (schedules set it per
group). `state_dict()` / `load_state_dict()` save and restore the state, as PyTorch's.

Files: `optimizer.py` (the base class and SGD), `adam.py` (Adam, AdamW), `rmsprop.py`,
`adaptive.py` (Adadelta, Adagrad, Adamax, NAdam), `lr_scheduler.py`.
"""

from . import lr_scheduler
from .adam import Adam, AdamW
from .adaptive import Adadelta, Adagrad, Adamax, NAdam
from .lr_scheduler import *  # noqa: F403 - the schedules (lr_scheduler.__all__)
from .optimizer import SGD, Optimizer
from .rmsprop import RMSprop

__all__ = [
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "NAdam",
    "Optimizer",
    "RMSprop",
    "lr_scheduler",
]
__all__ += lr_scheduler.__all__  # the schedules, also importable from here
