"""Data: MNIST-style files (IDX, Kaggle CSV) into numpy arrays, mini-batches, and
character-level text (:mod:`.text`: a vocabulary, encode/decode, a split, random batches).

    from tinygrad_lite.data import DataLoader, load_mnist, to_float
    images, labels = load_mnist("train")          # uint8 (60000, 28, 28), int64 (60000,)
    for xb, yb in DataLoader(to_float(images), labels, batch_size=128, shuffle=True, rng=0):
        ...

PyTorch's form, `tinygrad_lite.utils.data` (the same classes):

    ds = TensorDataset(tl.tensor(images), tl.tensor(labels))
    for xb, yb in DataLoader(ds, batch_size=64, shuffle=True): ...   # Tensors
"""

from . import datasets, files, loader, text
from .datasets import *  # noqa: F403 - PyTorch's datasets, samplers, collate (datasets.__all__)
from .files import *  # noqa: F403 - the file readers (files.__all__)
from .loader import *  # noqa: F403 - DataLoader, one_hot, to_float (loader.__all__)
from .text import *  # noqa: F403 - CharVocab, load_text, split_train_val, get_batch (text.__all__)

__all__ = datasets.__all__ + files.__all__ + loader.__all__ + text.__all__
