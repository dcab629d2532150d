"""The PyTorch API that real model and training programs lean on (GPT-style language models,
character-level models, their training loops and samplers), each usage checked against
PyTorch itself: `Tensor.contiguous`, `torch.roll`, `torch.inference_mode`,
`Module.zero_grad(set_to_none=...)`, `Module.double()` on a buffer registered as a tensor,
`torch.utils.data.dataloader` and an endless `RandomSampler(replacement=True)`, and
AdamW's `fused` / `foreach` switches. A small causal language model written once against
either library (`_tiny_lm`) uses the rest: weight tying by assignment, `apply(init)`, a
registered causal mask, `masked_fill`, `split`, `topk` with masked assignment, `multinomial`,
`ignore_index=-1`, gradient clipping and AdamW parameter groups.

benchmarks/real_programs.py runs nanoGPT's model.py and makemore's makemore.py themselves
(paths given by the user) the same way.
"""

from __future__ import annotations

import inspect
import itertools
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_lite as tl
from tinygrad_lite.tools.testing import arrays, check_gradgrad, check_gradient, shapes

REPO = Path(__file__).resolve().parent.parent
FAST = settings(max_examples=20, deadline=None)


def _torch():
    return pytest.importorskip("torch")


def _pair(torch, array):
    """The same float64 leaf in both libraries."""
    return (tl.tensor(array, requires_grad=True),
            torch.tensor(array, requires_grad=True))


# ---- contiguous --------------------------------------------------------------------------
def test_contiguous_then_view_after_a_transpose_matches_torch():
    torch = _torch()
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    a, b = _pair(torch, x)
    ya = a.transpose(1, 2)
    yb = b.transpose(1, 2)
    assert ya.is_contiguous() == yb.is_contiguous() is False
    with pytest.raises(RuntimeError):
        ya.view(2, 4, 15)  # as torch: a view needs a layout it can reinterpret
    with pytest.raises(RuntimeError):
        yb.view(2, 4, 15)
    za, zb = ya.contiguous().view(2, 4, 15), yb.contiguous().view(2, 4, 15)
    assert za.is_contiguous() and zb.is_contiguous()
    w = np.random.default_rng(1).standard_normal((2, 4, 15))
    (za * tl.tensor(w)).sum().backward()
    (zb * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(za.detach().numpy(), zb.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=1e-12)


def test_contiguous_of_a_contiguous_tensor_is_itself():
    torch = _torch()
    a = tl.ones(3, 4)
    assert a.contiguous() is a
    assert torch.ones(3, 4).contiguous().is_contiguous()
    t = a.t()
    assert t.contiguous() is not t and t.contiguous().is_contiguous()


# ---- roll --------------------------------------------------------------------------------
ROLLS = [((1,), {}), ((-2, 1), {}), ((7, 0), {}), (((1, -1), (0, 2)), {}),
         (([2], [-1]), {}), ((), {"shifts": 3}), ((), {"shifts": 1, "dims": 1})]


@pytest.mark.parametrize("args, kwargs", ROLLS)
def test_roll_matches_torch_values_and_gradients(args, kwargs):
    torch = _torch()
    x = np.random.default_rng(2).standard_normal((3, 4, 2))
    w = np.random.default_rng(3).standard_normal((3, 4, 2))
    a, b = _pair(torch, x)
    ya, yb = tl.roll(a, *args, **kwargs), torch.roll(b, *args, **kwargs)
    np.testing.assert_array_equal(ya.detach().numpy(), yb.detach().numpy())
    (ya * tl.tensor(w)).sum().backward()
    (yb * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=1e-12)
    np.testing.assert_array_equal(a.roll(*args, **kwargs).numpy(), ya.detach().numpy())


def test_roll_of_integer_indices_as_a_character_model_shifts_its_context():
    torch = _torch()
    idx = np.arange(12).reshape(3, 4)
    ours, theirs = tl.roll(tl.tensor(idx), 1, 1), torch.roll(torch.tensor(idx), 1, 1)
    ours[:, 0] = 99
    theirs[:, 0] = 99
    assert ours.dtype == tl.int64
    assert ours.tolist() == theirs.tolist()
    assert tl.tensor(3.0).roll(2).item() == torch.tensor(3.0).roll(2).item()


@pytest.mark.parametrize("args, error", [
    (((1, 2),), RuntimeError), (((1, 2), 0), RuntimeError), ((1, (0, 1)), RuntimeError),
    ((1, 3), IndexError), (((), ()), RuntimeError)])
def test_roll_errors_as_torch(args, error):
    torch = _torch()
    with pytest.raises(error):
        tl.zeros(2, 3).roll(*args)
    with pytest.raises(error):
        torch.zeros(2, 3).roll(*args)


@FAST
@given(arrays(shapes(min_dims=1)), st.data())
def test_roll_gradients_first_and_second_order(x, data):
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    shift = data.draw(st.integers(-4, 4))
    assert check_gradient(lambda a: a.roll(shift, dim) * a, x)
    assert check_gradient(lambda a: a.roll(shift) ** 2, x)
    assert check_gradgrad(lambda a: a.roll((shift,), (dim,)) * a, x)


# ---- inference_mode ----------------------------------------------------------------------
def _modes(lib):
    """What grad mode and inference mode read in each way of entering inference_mode."""
    seen = []

    def probe():
        seen.append((lib.is_grad_enabled(), lib.is_inference_mode_enabled()))

    probe()
    with lib.inference_mode():
        probe()
        with lib.inference_mode(False):
            probe()
        probe()
    with lib.no_grad():
        with lib.inference_mode(False):
            probe()
    lib.inference_mode()  # made, not entered: nothing changes
    probe()

    @lib.inference_mode()
    def called():
        probe()
        return 1

    @lib.inference_mode
    def bare():
        probe()

    def generator():
        for _ in range(2):
            probe()
            yield

    assert called() == 1
    bare()
    list(lib.inference_mode()(generator)())
    probe()
    return seen


def test_inference_mode_switches_modes_as_torch():
    torch = _torch()
    assert _modes(tl) == _modes(torch)


def test_inference_mode_records_nothing():
    x = tl.ones(3, requires_grad=True)
    with tl.inference_mode():
        y = (x * 2).sum()
    assert not y.requires_grad
    assert (x * 2).sum().requires_grad


# ---- modules -----------------------------------------------------------------------------
@pytest.mark.parametrize("set_to_none", [True, False])
def test_module_zero_grad_as_torch(set_to_none):
    torch = _torch()
    ours, theirs = tl.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    ours(tl.ones(4, 3)).sum().backward()
    theirs(torch.ones(4, 3)).sum().backward()
    ours.zero_grad(set_to_none=set_to_none)
    theirs.zero_grad(set_to_none=set_to_none)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        assert (p.grad is None) == (q.grad is None) == set_to_none
        if not set_to_none:
            np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
    ours.zero_grad()
    assert all(p.grad is None for p in ours.parameters())


def test_module_zero_grad_keeps_the_gradient_object_when_zeroing():
    layer = tl.nn.Linear(2, 2)
    layer(tl.ones(1, 2)).sum().backward()
    before = layer.weight.grad
    layer.zero_grad(set_to_none=False)
    assert layer.weight.grad is before and not before.numpy().any()


def _masked(lib):
    class Masked(lib.nn.Module):
        def __init__(self, n):
            super().__init__()
            self.register_buffer("mask", lib.tril(lib.ones(n, n)).view(1, n, n))
            self.scale = lib.nn.Parameter(lib.ones(n))

        def forward(self, x):
            return x.masked_fill(self.mask[:, : x.shape[1], : x.shape[1]] == 0, 0.0) * self.scale

    return Masked(4)


def test_double_casts_a_buffer_registered_as_a_tensor():
    torch = _torch()
    ours, theirs = _masked(tl).double(), _masked(torch).double()
    assert ours.mask.dtype == tl.float64 and theirs.mask.dtype == torch.float64
    assert [(k, str(np.asarray(v).dtype)) for k, v in ours.state_dict().items()] == [
        (k, str(v.numpy().dtype)) for k, v in theirs.state_dict().items()]
    ours.float()
    assert ours.mask.dtype == tl.float32 and isinstance(ours.mask, tl.Tensor)


# ---- data --------------------------------------------------------------------------------
def test_torch_utils_data_submodules_import_as_in_torch():
    from tinygrad_lite.utils.data.dataloader import DataLoader, default_collate
    from tinygrad_lite.utils.data.dataset import Dataset, TensorDataset
    from tinygrad_lite.utils.data.sampler import RandomSampler, SequentialSampler

    assert DataLoader is tl.utils.data.DataLoader and Dataset is tl.utils.data.Dataset
    assert RandomSampler is tl.utils.data.RandomSampler
    assert tl.utils.data.dataloader.DataLoader is DataLoader
    ds = TensorDataset(tl.arange(6).view(3, 2))
    assert list(SequentialSampler(ds)) == [0, 1, 2]
    assert default_collate([1, 2]).tolist() == [1, 2]


def test_random_sampler_with_replacement_streams_its_draws():
    class Items(tl.utils.data.Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return tl.tensor([i, 2 * i])

    sampler = tl.utils.data.RandomSampler(Items(), replacement=True, num_samples=10**10)
    assert len(sampler) == 10**10
    first = list(itertools.islice(iter(sampler), 100))
    assert len(first) == 100 and set(first) <= set(range(5)) and len(set(first)) > 1
    loader = tl.utils.data.DataLoader(Items(), batch_size=8, sampler=sampler)
    batch = next(iter(loader))
    assert batch.shape == (8, 2)
    seeded = [list(tl.utils.data.RandomSampler(range(9), True, 40, generator=np.random
                                               .default_rng(3))) for _ in range(2)]
    assert seeded[0] == seeded[1] and len(seeded[0]) == 40
    tl.manual_seed(4)
    a = list(tl.utils.data.RandomSampler(range(9), True, 40))
    tl.manual_seed(4)
    assert list(tl.utils.data.RandomSampler(range(9), True, 40)) == a


# ---- AdamW's implementation switches -----------------------------------------------------
def test_adamw_signature_is_torchs():
    torch = _torch()
    for name in ("Adam", "AdamW"):
        ours = inspect.signature(getattr(tl.optim, name)).parameters
        theirs = inspect.signature(getattr(torch.optim, name)).parameters
        assert list(ours) == list(theirs)
        assert [p.default for p in ours.values()][1:] == [p.default for p in theirs.values()][1:]
    assert "fused" in inspect.signature(tl.optim.AdamW).parameters


@pytest.mark.parametrize("switch", [{}, {"fused": True}, {"foreach": True}, {"fused": False}])
def test_adamw_fused_and_foreach_give_torchs_numbers(switch):
    torch = _torch()
    rng = np.random.default_rng(5)
    w = rng.standard_normal((4, 3))
    ours, theirs = _pair(torch, w)
    opt = tl.optim.AdamW([ours], lr=0.05, weight_decay=0.1, **switch)
    topt = torch.optim.AdamW([theirs], lr=0.05, weight_decay=0.1, **switch)
    for _ in range(3):
        g = rng.standard_normal((4, 3))
        ours.grad, theirs.grad = tl.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), atol=1e-12)
    for key in ("foreach", "fused", "capturable", "differentiable"):
        assert opt.param_groups[0][key] == topt.param_groups[0][key]


@pytest.mark.parametrize("options, error", [
    ({"fused": True, "foreach": True}, RuntimeError),
    ({"fused": True, "differentiable": True}, RuntimeError)])
def test_adamw_switch_conflicts_raise_as_torch(options, error):
    torch = _torch()
    with pytest.raises(error):
        tl.optim.AdamW([tl.nn.Parameter(tl.ones(2))], **options)
    with pytest.raises(error):
        torch.optim.AdamW([torch.nn.Parameter(torch.ones(2))], **options)


def test_adamw_capturable_needs_a_gpu_as_in_torch():
    torch = _torch()
    with pytest.raises(AssertionError):
        tl.optim.AdamW([tl.nn.Parameter(tl.ones(2))], capturable=True)
    p = torch.nn.Parameter(torch.ones(2))
    p.grad = torch.ones(2)
    with pytest.raises(AssertionError):  # torch finds out at the first step
        torch.optim.AdamW([p], capturable=True).step()


# ---- a small causal language model written once for both libraries ------------------------
def _tiny_lm(lib, vocab=11, block=8, width=12, heads=3, manual=True):
    """A causal LM in the style of GPT programs, using only `lib`'s PyTorch API."""
    nn, F = lib.nn, lib.nn.functional

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv = nn.Linear(width, 3 * width)
            self.out = nn.Linear(width, width, bias=False)
            self.fast = hasattr(F, "scaled_dot_product_attention") and not manual
            self.register_buffer("causal", lib.tril(lib.ones(block, block))
                                 .view(1, 1, block, block))

        def forward(self, x):
            b, t, c = x.size()
            q, k, v = [z.view(b, t, heads, c // heads).transpose(1, 2)
                       for z in self.qkv(x).split(width, dim=2)]
            if self.fast:
                y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            else:
                scores = (q @ k.transpose(-2, -1)) / math.sqrt(k.size(-1))
                scores = scores.masked_fill(self.causal[:, :, :t, :t] == 0, float("-inf"))
                y = F.softmax(scores, dim=-1) @ v
            return self.out(y.transpose(1, 2).contiguous().view(b, t, c))

    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.parts = nn.ModuleDict(dict(
                tok=nn.Embedding(vocab, width), pos=nn.Embedding(block, width),
                layers=nn.ModuleList([Attention() for _ in range(2)]),
                norm=nn.LayerNorm(width)))
            self.head = nn.Linear(width, vocab, bias=False)
            self.parts.tok.weight = self.head.weight  # tied by assignment
            self.apply(self._init)

        @staticmethod
        def _init(m):
            if isinstance(m, (nn.Linear, nn.Embedding)):
                lib.nn.init.normal_(m.weight, mean=0.0, std=0.2)
            if isinstance(m, nn.Linear) and m.bias is not None:
                lib.nn.init.zeros_(m.bias)

        def forward(self, idx, targets=None):
            t = idx.size(1)
            x = self.parts.tok(idx) + self.parts.pos(lib.arange(0, t, dtype=lib.long,
                                                                device=idx.device))
            for layer in self.parts.layers:
                x = x + layer(x)
            x = self.parts.norm(x)
            if targets is None:
                return self.head(x[:, [-1], :]), None
            logits = self.head(x)
            return logits, F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1),
                                           ignore_index=-1)

        @lib.no_grad()
        def sample(self, idx, steps, temperature, top_k):
            for _ in range(steps):
                logits = self(idx[:, -block:])[0][:, -1, :] / temperature
                v, _ = lib.topk(logits, top_k)
                logits[logits < v[:, [-1]]] = -float("Inf")
                nxt = lib.multinomial(F.softmax(logits, dim=-1), num_samples=1)
                idx = lib.cat((idx, nxt), dim=1)
            return idx

    return LM()


@pytest.mark.parametrize("manual", [True, False])
def test_tiny_lm_written_for_torch_gives_torchs_numbers(manual):
    torch = _torch()
    torch.manual_seed(0)
    theirs = _tiny_lm(torch, manual=manual).double()
    ours = _tiny_lm(tl, manual=manual).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert sum(p.numel() for p in ours.parameters()) == sum(
        p.numel() for p in theirs.parameters())

    def groups(model, lib):
        params = [p for p in model.parameters() if p.requires_grad]
        return [{"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.1},
                {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]

    opt = tl.optim.AdamW(groups(ours, tl), lr=1e-2, betas=(0.9, 0.95))
    topt = torch.optim.AdamW(groups(theirs, torch), lr=1e-2, betas=(0.9, 0.95))
    rng = np.random.default_rng(6)
    for _ in range(3):
        idx, targets = rng.integers(0, 11, (3, 8)), rng.integers(0, 11, (3, 8))
        targets[0, :2] = -1
        (la, loss_a), (lb, loss_b) = ours(tl.tensor(idx), tl.tensor(targets)), theirs(
            torch.tensor(idx), torch.tensor(targets))
        np.testing.assert_allclose(la.detach().numpy(), lb.detach().numpy(), atol=1e-9)
        assert abs(loss_a.item() - loss_b.item()) < 1e-9
        loss_a.backward()
        loss_b.backward()
        for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), atol=1e-9, err_msg=name)
        norms = (tl.nn.utils.clip_grad_norm_(ours.parameters(), 0.5).item(),
                 torch.nn.utils.clip_grad_norm_(theirs.parameters(), 0.5).item())
        assert abs(norms[0] - norms[1]) < 1e-9
        opt.step()
        topt.step()
        opt.zero_grad(set_to_none=True)
        topt.zero_grad(set_to_none=True)
    start = rng.integers(0, 11, (2, 3))
    ours.eval()
    theirs.eval()
    # at a tiny temperature the sample is the most likely token: the same in both
    a = ours.sample(tl.tensor(start), 10, temperature=1e-9, top_k=4)
    b = theirs.sample(torch.tensor(start), 10, temperature=1e-9, top_k=4)
    assert a.tolist() == b.tolist()


# ---- the script that runs the real programs ----------------------------------------------
def _script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("real_programs",
                                                  REPO / "benchmarks" / "real_programs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_points_only_the_import_lines_at_tinygrad_lite():
    source = "\n".join([
        "import math", "import torch", "import torch.nn as nn",
        "from torch.nn import functional as F", "from torch.utils.data import Dataset",
        "from torch.utils.tensorboard import SummaryWriter", "x = torch.zeros(3)",
        "    import torch.nn", ""])
    swapped, changed = _script().swap_imports(source, "tinygrad_lite")
    assert swapped.splitlines() == [
        "import math", "import tinygrad_lite as torch", "import tinygrad_lite.nn as nn",
        "from tinygrad_lite.nn import functional as F",
        "from tinygrad_lite.utils.data import Dataset",
        "SummaryWriter = None  # tensorboard: not run here", "x = torch.zeros(3)",
        "    import tinygrad_lite.nn; import tinygrad_lite as torch"]
    assert [n for n, _, _ in changed] == [2, 3, 4, 5, 6, 8]
    unchanged, changed = _script().swap_imports(source, "torch")
    assert [n for n, _, _ in changed] == [6] and unchanged.count("import torch") == 3


def test_script_names_a_missing_file_in_one_line(tmp_path):
    missing = tmp_path / "model.py"
    run = subprocess.run([sys.executable, str(REPO / "benchmarks" / "real_programs.py"),
                          "--nanogpt", str(missing)], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 2
    assert len(run.stderr.strip().splitlines()) == 1 and str(missing) in run.stderr
