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

from .datasets import (
    BatchSampler,
    ConcatDataset,
    Dataset,
    RandomSampler,
    Sampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    default_collate,
    default_convert,
    random_split,
)
from .files import (
    MAX_IDX_BYTES,
    DataError,
    dataset_files,
    default_data_root,
    load_dataset,
    load_idx,
    load_kaggle_csv,
    load_mnist,
)
from .loader import DataLoader, one_hot, to_float
from .text import CharVocab, get_batch, load_text, split_train_val

__all__ = [
    "CharVocab",
    "BatchSampler",
    "ConcatDataset",
    "Dataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "default_collate",
    "default_convert",
    "random_split",
    "MAX_IDX_BYTES",
    "DataError",
    "DataLoader",
    "dataset_files",
    "get_batch",
    "default_data_root",
    "load_dataset",
    "load_idx",
    "load_kaggle_csv",
    "load_mnist",
    "load_text",
    "one_hot",
    "split_train_val",
    "to_float",
]
