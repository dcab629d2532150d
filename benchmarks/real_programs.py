"""Run real PyTorch programs with their imports pointed at tinygrad_lite, and measure how far
their numbers are from PyTorch's on the same weights.

    python benchmarks/real_programs.py --nanogpt PATH/TO/nanoGPT/model.py \
                                       --makemore PATH/TO/makemore/makemore.py [--steps 3]

The programs are not part of this repository: pass the paths of your own copies of
karpathy/nanoGPT's `model.py` and karpathy/makemore's `makemore.py`. Each file is loaded
twice, as it is (under torch) and with its `import torch ...` / `from torch... import ...`
lines pointed at tinygrad_lite (in memory; the file is not changed). No other line changes,
except that `from torch.utils.tensorboard import SummaryWriter` becomes `SummaryWriter = None`
in both copies: tensorboard is a separate package, and makemore only uses it in its command-line
`__main__` block, which is not run here.

Both copies get the same weights (torch's state_dict, copied as numpy arrays) in float64, and
the script prints the largest absolute difference of the logits, the loss, every gradient,
the losses over a few AdamW steps (nanoGPT's parameter groups, train.py's gradient clipping)
and the weights after them; and checks that sampling at near-zero temperature picks the same
tokens. It exits with status 1 when a difference is above `--tol` (1e-9) or a check fails,
and with status 2 and a one-line message when a file is missing.

What runs: nanoGPT's GPT with bias=False and bias=True, with F.scaled_dot_product_attention
and with its manual causal-mask path (F.scaled_dot_product_attention hidden from both
libraries while the model is built), and with dropout (train mode runs; its random masks
cannot match torch's, so the numbers are compared in eval mode); configure_optimizers (cpu
and cuda device_type), generate (with top_k), crop_block_size, get_num_params, estimate_mfu.
makemore's bag-of-words model makes float32 attention weights whatever the model's dtype,
so it is compared in float32 (tolerance 1e-5).

makemore: its Transformer, BoW, RNN (rnn and gru cells), MLP and Bigram models on 200 of
its names (data/names/names.txt), with its CharDataset, create_datasets,
InfiniteDataLoader, generate, print_samples and evaluate, and its training step; the
checkpoint is saved and loaded with its `torch.save` / `torch.load` (tl.save / tl.load).

Not run: nanoGPT's from_pretrained (downloads GPT-2 through the transformers package) and
makemore's command line, tensorboard logging and CUDA code paths.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import re
import sys
import tempfile
import types
from argparse import Namespace
from pathlib import Path
from typing import Any, Callable

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import tinygrad_lite as tl  # noqa: E402

TENSORBOARD = re.compile(r"^(\s*)from torch\.utils\.tensorboard import SummaryWriter\s*$")
IMPORT = re.compile(r"^(\s*)(import|from) torch(\.[\w.]+)?(\s.*)?$")


def swap_imports(source: str, lib: str) -> tuple[str, list[tuple[int, str, str]]]:
    """`source` with its torch import lines pointed at `lib` ("tinygrad_lite" or "torch"), and
    the lines changed as (line number, old, new). `import torch` binds `torch` either way."""
    lines, changed = source.splitlines(keepends=True), []
    for number, line in enumerate(lines, 1):
        text = line.rstrip("\n")
        new = text
        tensorboard = TENSORBOARD.match(text)
        match = IMPORT.match(text)
        if tensorboard:
            new = f"{tensorboard[1]}SummaryWriter = None  # tensorboard: not run here"
        elif match and lib != "torch":
            indent, keyword, dotted, rest = match[1], match[2], match[3] or "", match[4] or ""
            if keyword == "import" and not rest.strip().startswith("as"):
                if dotted:  # `import torch.nn`: binds `torch`, as PyTorch's does
                    new = f"{indent}import {lib}{dotted}; import {lib} as torch"
                else:
                    new = f"{indent}import {lib} as torch{rest}"
            else:
                new = f"{indent}{keyword} {lib}{dotted}{rest}"
        if new != text:
            changed.append((number, text, new))
            lines[number - 1] = new + "\n"
    return "".join(lines), changed


def load_program(path: Path, lib: str, name: str) -> tuple[types.ModuleType, list]:
    """The program at `path` as a module (not `__main__`: its command line does not run),
    with its imports pointed at `lib`."""
    source, changed = swap_imports(path.read_text(), lib)
    module = types.ModuleType(f"{name}_{lib}")
    module.__file__ = str(path)
    sys.modules[module.__name__] = module  # (dataclasses looks the module up)
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(source, str(path), "exec"), module.__dict__)
    return module, changed


# ---- comparing ----------------------------------------------------------------------------
class Report:
    """The measured differences, one line each, and whether each is within `tol`."""

    def __init__(self, tol: float) -> None:
        self.tol, self.failures, self.rows = tol, [], []

    def diff(self, what: str, ours: Any, theirs: Any, tol: float | None = None) -> float:
        a, b = _array(ours), _array(theirs)
        if a.shape != b.shape:
            self.fail(what, f"shapes differ: {a.shape} vs {b.shape}")
            return math.inf
        d = float(np.max(np.abs(a - b))) if a.size else 0.0
        ok = d <= (self.tol if tol is None else tol)
        self.rows.append((what, d, ok))
        print(f"  {what:<48} max |diff| {d:.3g}{'' if ok else '   <-- above tolerance'}")
        if not ok:
            self.failures.append(what)
        return d

    def same(self, what: str, ours: Any, theirs: Any) -> None:
        ok = _array(ours).tolist() == _array(theirs).tolist()
        print(f"  {what:<48} {'equal' if ok else 'DIFFERENT'}")
        if not ok:
            self.failures.append(what)

    def check(self, what: str, ok: bool, detail: str = "") -> None:
        print(f"  {what:<48} {'ok' if ok else 'FAILED'} {detail}".rstrip())
        if not ok:
            self.failures.append(what)

    def fail(self, what: str, why: str) -> None:
        print(f"  {what:<48} FAILED: {why}")
        self.failures.append(what)


def _array(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach()
    if hasattr(x, "numpy"):
        x = x.numpy()
    return np.asarray(x, dtype=np.float64)


def _quiet(fn: Callable, *args: Any, **kwargs: Any) -> tuple[Any, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = fn(*args, **kwargs)
    return result, out.getvalue()


def _copy_weights(ours: Any, theirs: Any) -> None:
    """torch's state_dict into our model, as numpy arrays."""
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


def _compare_grads(report: Report, what: str, ours: Any, theirs: Any,
                   tol: float | None = None) -> None:
    mine, other = dict(ours.named_parameters()), dict(theirs.named_parameters())
    if list(mine) != list(other):
        report.fail(f"{what}: parameter names", f"{list(mine)} vs {list(other)}")
        return
    worst, name = 0.0, ""
    for key in mine:
        g, h = mine[key].grad, other[key].grad
        if (g is None) != (h is None):
            report.fail(f"{what}: grad of {key}", "present in one program only")
            return
        if g is not None:
            d = float(np.max(np.abs(_array(g) - _array(h))))
            worst, name = (d, key) if d >= worst else (worst, name)
    report.diff(f"{what}: grads ({len(mine)} tensors, worst {name})", worst, 0.0, tol)


def _compare_weights(report: Report, what: str, ours: Any, theirs: Any,
                     tol: float | None = None) -> None:
    mine, other = dict(ours.named_parameters()), dict(theirs.named_parameters())
    diffs = {k: float(np.max(np.abs(_array(mine[k]) - _array(other[k])))) for k in mine}
    worst = max(diffs, key=diffs.get)
    report.diff(f"{what} (worst {worst})", diffs[worst], 0.0, tol)


@contextlib.contextmanager
def _without_sdpa(*functional_modules: Any):
    """Hide F.scaled_dot_product_attention, so nanoGPT takes its manual causal-mask path."""
    saved = [m.scaled_dot_product_attention for m in functional_modules]
    for m in functional_modules:
        del m.scaled_dot_product_attention
    try:
        yield
    finally:
        for m, f in zip(functional_modules, saved):
            m.scaled_dot_product_attention = f


def load_both(path: Path, module_name: str, title: str) -> tuple:
    """(the program on tinygrad_lite, the program on torch), printing the lines changed."""
    ours, changed = load_program(path, "tinygrad_lite", module_name)
    theirs, _ = load_program(path, "torch", module_name)
    print(f"{title} {path}: lines changed {[n for n, _, _ in changed]}")
    for number, old, new in changed:
        print(f"  {number}: {old!r} -> {new!r}")
    return ours, theirs


# ---- nanoGPT ------------------------------------------------------------------------------
def check_nanogpt(path: Path, report: Report, steps: int) -> None:
    import torch

    ours, theirs = load_both(path, "nanogpt_model", "nanoGPT")
    variants = [
        ("bias=False, fused attention", dict(bias=False, dropout=0.0), False),
        ("bias=True, manual attention", dict(bias=True, dropout=0.0), True),
        ("bias=True, dropout=0.1, fused attention", dict(bias=True, dropout=0.1), False),
        ("bias=False, dropout=0.1, manual attention", dict(bias=False, dropout=0.1), True),
    ]
    for title, options, manual in variants:
        print(f"GPT({title})")
        cfg = dict(block_size=64, vocab_size=65, n_layer=4, n_head=4, n_embd=128, **options)
        torch.manual_seed(0)
        tl.manual_seed(0)
        hide = _without_sdpa(tl.nn.functional, torch.nn.functional) if manual else (
            contextlib.nullcontext())
        with hide:
            mine, _ = _quiet(ours.GPT, ours.GPTConfig(**cfg))
            other, _ = _quiet(theirs.GPT, theirs.GPTConfig(**cfg))
        report.check("flash attention flag as torch's",
                     mine.transformer.h[0].attn.flash == other.transformer.h[0].attn.flash)
        mine.double()
        other.double()
        _copy_weights(mine, other)
        report.check("state_dict keys and dtypes as torch's", [
            (k, str(np.asarray(v).dtype)) for k, v in mine.state_dict().items()] == [
            (k, str(v.numpy().dtype)) for k, v in other.state_dict().items()])
        report.check("get_num_params", mine.get_num_params() == other.get_num_params(),
                     f"({mine.get_num_params():,})")
        report.check("get_num_params(non_embedding=False)",
                     mine.get_num_params(False) == other.get_num_params(False))
        report.check("estimate_mfu", mine.estimate_mfu(8, 0.5) == other.estimate_mfu(8, 0.5))
        if options["dropout"]:
            _dropout_runs(report, mine, ours, cfg)
            mine.eval()
            other.eval()
        _nanogpt_numbers(report, mine, other, cfg, steps)
        _nanogpt_generate(report, mine, other, cfg)


def _batch(rng: np.random.Generator, cfg: dict, b: int = 4, t: int = 32) -> tuple:
    idx = rng.integers(0, cfg["vocab_size"], (b, t))
    targets = rng.integers(0, cfg["vocab_size"], (b, t))
    targets[0, -3:] = -1  # ignore_index=-1
    return idx, targets


def _nanogpt_numbers(report: Report, mine: Any, other: Any, cfg: dict, steps: int) -> None:
    import torch

    rng = np.random.default_rng(1)
    idx, targets = _batch(rng, cfg)
    (lg, ls), (lg2, ls2) = mine(tl.tensor(idx), tl.tensor(targets)), other(
        torch.tensor(idx), torch.tensor(targets))
    report.diff("logits (with targets)", lg, lg2)
    report.diff("loss", ls, ls2)
    ls.backward()
    ls2.backward()
    _compare_grads(report, "first backward", mine, other)
    (lg, none), (lg2, _) = mine(tl.tensor(idx)), other(torch.tensor(idx))
    report.check("inference forward: loss is None", none is None)
    report.diff("logits (inference, last position)", lg, lg2)

    # train.py's step: param groups, lr set per group, 2 micro-steps, clipping, zero_grad
    opt, _ = _quiet(mine.configure_optimizers, 0.1, 1e-3, (0.9, 0.95), "cpu")
    opt2, _ = _quiet(other.configure_optimizers, 0.1, 1e-3, (0.9, 0.95), "cpu")
    opt.zero_grad(set_to_none=True)
    opt2.zero_grad(set_to_none=True)
    report.check("param groups as torch's", [len(g["params"]) for g in opt.param_groups]
                 == [len(g["params"]) for g in opt2.param_groups])
    fused = [_quiet(m.configure_optimizers, 0.1, 1e-3, (0.9, 0.95), "cuda")[0]
             .param_groups[0]["fused"] for m in (mine, other)]
    report.check("configure_optimizers(device_type='cuda'): fused", fused == [True, True])
    worst, norms = 0.0, 0.0
    for step in range(steps):
        for o in (opt, opt2):
            for group in o.param_groups:
                group["lr"] = 1e-3 * (step + 1) / steps
        for _ in range(2):
            idx, targets = _batch(rng, cfg)
            _, ls = mine(tl.tensor(idx), tl.tensor(targets))
            _, ls2 = other(torch.tensor(idx), torch.tensor(targets))
            worst = max(worst, abs(ls.item() - ls2.item()))
            (ls / 2).backward()
            (ls2 / 2).backward()
        n = tl.nn.utils.clip_grad_norm_(mine.parameters(), 1.0)
        n2 = torch.nn.utils.clip_grad_norm_(other.parameters(), 1.0)
        norms = max(norms, abs(n.item() - n2.item()))
        opt.step()
        opt2.step()
        opt.zero_grad(set_to_none=True)
        opt2.zero_grad(set_to_none=True)
    report.diff(f"losses over {steps} AdamW steps (2 micro-steps)", worst, 0.0)
    report.diff("clip_grad_norm_ total norms", norms, 0.0)
    _compare_weights(report, f"weights after {steps} steps", mine, other)


def _nanogpt_generate(report: Report, mine: Any, other: Any, cfg: dict) -> None:
    import torch

    mine.eval()
    other.eval()
    start = np.random.default_rng(2).integers(0, cfg["vocab_size"], (2, 5))
    # at a tiny temperature, multinomial picks the largest logit: the same tokens as torch
    out = mine.generate(tl.tensor(start), 8, temperature=1e-9, top_k=5)
    out2 = other.generate(torch.tensor(start), 8, temperature=1e-9, top_k=5)
    report.same("generate(temperature=1e-9, top_k=5)", out, out2)
    sampled = mine.generate(tl.tensor(start), cfg["block_size"], temperature=1.0)
    report.check("generate past block_size (samples)",
                 tuple(sampled.shape) == (2, 5 + cfg["block_size"]))
    mine.crop_block_size(16)
    other.crop_block_size(16)
    short = start[:, :5]
    report.diff("logits after crop_block_size(16)", mine(tl.tensor(short))[0],
                other(torch.tensor(short))[0])
    report.check("state_dict keys after crop", list(mine.state_dict()) == list(other.state_dict()))
    mine.train()
    other.train()


def _dropout_runs(report: Report, mine: Any, ours: Any, cfg: dict) -> None:
    """Train mode with dropout: runs, is reproducible from the seed, and differs from eval."""
    idx, targets = _batch(np.random.default_rng(3), cfg)
    losses = []
    for _ in range(2):
        tl.manual_seed(5)
        _, ls = mine(tl.tensor(idx), tl.tensor(targets))
        ls.backward()
        losses.append(ls.item())
    mine.zero_grad(set_to_none=True)
    mine.eval()
    _, ls_eval = mine(tl.tensor(idx), tl.tensor(targets))
    mine.train()
    report.check("dropout: same seed, same loss; differs from eval",
                 losses[0] == losses[1] and losses[0] != ls_eval.item(),
                 f"(train {losses[0]:.6f}, eval {ls_eval.item():.6f})")


# ---- makemore -----------------------------------------------------------------------------
NAMES = ROOT / "data" / "names" / "names.txt"  # makemore's names, shipped here


def _words(n: int, seed: int = 0) -> list:
    """`n` of makemore's names (made-up words when the file is not there)."""
    rng = np.random.default_rng(seed)
    if NAMES.is_file():
        names = [w.strip() for w in NAMES.read_text().splitlines() if w.strip()]
        return [names[i] for i in rng.choice(len(names), n, replace=False)]
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    return ["".join(rng.choice(letters, rng.integers(3, 11))) for _ in range(n)]


def check_makemore(path: Path, report: Report, steps: int) -> None:
    import torch

    ours, theirs = load_both(path, "makemore", "makemore")
    words = _words(200)
    chars = sorted(set("".join(words)))
    longest = max(len(w) for w in words)
    train, test = words[:160], words[160:]
    datasets = {}
    for lib, module in (("ours", ours), ("theirs", theirs)):
        datasets[lib] = (module.CharDataset(train, chars, longest),
                         module.CharDataset(test, chars, longest))
    x, y = datasets["ours"][0][7]
    x2, y2 = datasets["theirs"][0][7]
    report.same("CharDataset item (x and y, -1 masked)", np.concatenate([x, y]),
                np.concatenate([x2.numpy(), y2.numpy()]))
    _makemore_data_helpers(report, ours, words)

    vocab = datasets["ours"][0].get_vocab_size()
    block = datasets["ours"][0].get_output_length()
    cfg = dict(vocab_size=vocab, block_size=block, n_layer=2, n_head=4, n_embd=32, n_embd2=32)
    kinds = [("Transformer", lambda m, c: m.Transformer(c)), ("BoW", lambda m, c: m.BoW(c)),
             ("RNN (rnn)", lambda m, c: m.RNN(c, cell_type="rnn")),
             ("RNN (gru)", lambda m, c: m.RNN(c, cell_type="gru")),
             ("MLP", lambda m, c: m.MLP(c)), ("Bigram", lambda m, c: m.Bigram(c))]
    for title, build in kinds:
        # BoW makes its attention weights with torch.zeros((B, T, T)): float32, the default
        # dtype, so a float64 model raises in matmul (in torch too: checked) and it is
        # compared in float32 (tinygrad_lite has no set_default_dtype)
        f32 = title == "BoW"
        print(f"makemore {title}" + (" (float32)" if f32 else ""))
        torch.manual_seed(0)
        tl.manual_seed(0)
        mine, _ = _quiet(build, ours, ours.ModelConfig(**cfg))
        other, _ = _quiet(build, theirs, theirs.ModelConfig(**cfg))
        if f32:
            _both_raise_in_float64(report, mine, other, datasets)
        else:
            mine.double()
            other.double()
        with torch.no_grad():  # Bigram starts at zeros: give every model non-trivial weights
            for p in other.parameters():
                p.add_(0.1 * torch.randn_like(p))
        _copy_weights(mine, other)
        report.check("parameter count", sum(p.numel() for p in mine.parameters())
                     == sum(p.numel() for p in other.parameters()))
        _makemore_numbers(report, (ours, mine, datasets["ours"]),
                          (theirs, other, datasets["theirs"]), steps, 1e-5 if f32 else None)


def _both_raise_in_float64(report: Report, mine: Any, other: Any, datasets: dict) -> None:
    import torch

    x = next(iter(tl.utils.data.DataLoader(datasets["ours"][0], batch_size=4)))[0]
    errors = []
    for model, tensor in ((mine, x), (other, torch.tensor(x.numpy()))):
        model.double()
        try:
            model(tensor)
            errors.append(None)
        except RuntimeError as e:
            errors.append(type(e))
        model.float()
    report.check("float64 model: matmul dtype error, as torch", errors[0] is errors[1]
                 is RuntimeError)


def _makemore_data_helpers(report: Report, ours: Any, words: list) -> None:
    with tempfile.TemporaryDirectory() as folder:
        name = os.path.join(folder, "names.txt")
        Path(name).write_text("\n".join(words) + "\n\n")
        (train, test), _ = _quiet(ours.create_datasets, name)
    report.check("create_datasets split", (len(train), len(test)) == (180, 20))
    loader = ours.InfiniteDataLoader(train, batch_size=32, pin_memory=True, num_workers=4)
    x, y = loader.next()
    report.check("InfiniteDataLoader batch", tuple(x.shape) == tuple(y.shape) ==
                 (32, train.get_output_length()) and x.dtype == tl.int64)


def _makemore_numbers(report: Report, ours: tuple, theirs: tuple, steps: int,
                      tol: float | None) -> None:
    import torch

    module, mine, (train, test) = ours
    module2, other, (train2, test2) = theirs
    rng = np.random.default_rng(4)

    def batches(n: int) -> list:
        return [rng.integers(0, len(train), 16).tolist() for _ in range(n)]

    def batch(lib: Any, dataset: Any, indices: list) -> list:
        return next(iter(lib.DataLoader(dataset, batch_size=len(indices), sampler=indices)))

    first = batches(1)[0]
    X, Y = batch(module, train, first)
    X2, Y2 = batch(module2, train2, first)
    (lg, ls), (lg2, ls2) = mine(X, Y), other(X2, Y2)
    report.diff("logits", lg, lg2, tol)
    report.diff("loss (ignore_index=-1)", ls, ls2, tol)
    ls.backward()
    ls2.backward()
    _compare_grads(report, "backward", mine, other, tol)

    # makemore's training step, on the same batches
    opt = module.torch.optim.AdamW(mine.parameters(), lr=1e-2, weight_decay=0.01,
                                   betas=(0.9, 0.99), eps=1e-8)
    opt2 = torch.optim.AdamW(other.parameters(), lr=1e-2, weight_decay=0.01,
                             betas=(0.9, 0.99), eps=1e-8)
    worst = 0.0
    for indices in batches(steps):
        X, Y = batch(module, train, indices)
        X2, Y2 = batch(module2, train2, indices)
        (_, ls), (_, ls2) = mine(X, Y), other(X2, Y2)
        worst = max(worst, abs(ls.item() - ls2.item()))
        mine.zero_grad(set_to_none=True)
        other.zero_grad(set_to_none=True)
        ls.backward()
        ls2.backward()
        opt.step()
        opt2.step()
    report.diff(f"losses over {steps} AdamW steps", worst, 0.0, tol)
    _compare_weights(report, f"weights after {steps} steps", mine, other, tol)

    # evaluate(): one shuffled batch holding the whole test set, so the mean is the same
    module.args = Namespace(device="cpu", top_k=-1)
    module2.args = Namespace(device="cpu", top_k=-1)
    e = module.evaluate(mine, test, batch_size=len(test))
    e2 = module2.evaluate(other, test2, batch_size=len(test2))
    report.diff("evaluate() (float32 mean, as torch)", e, e2, tol=1e-6)
    report.check("evaluate() leaves train mode", mine.training)

    start = np.zeros((3, 1), dtype=np.int64)
    g = module.generate(mine, module.torch.tensor(start), 6, do_sample=False)
    g2 = module2.generate(other, torch.tensor(start), 6, do_sample=False)
    report.same("generate(do_sample=False)", g, g2)
    g = module.generate(mine, module.torch.tensor(start), 6, do_sample=True, top_k=3)
    report.check("generate(do_sample=True, top_k=3)", tuple(g.shape) == (3, 7))
    module.model, module.train_dataset, module.test_dataset = mine, train, test
    _, printed = _quiet(module.print_samples, num=5)
    report.check("print_samples", printed.count("samples that are") == 3)

    with tempfile.TemporaryDirectory() as folder:  # __main__'s checkpoint, with tl.save/load
        out = os.path.join(folder, "model.pt")
        module.torch.save(mine.state_dict(), out)
        mine.load_state_dict(module.torch.load(out))
    report.diff("logits after save/load", mine(X)[0], other(X2)[0], tol)


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nanogpt", type=Path, help="path of nanoGPT's model.py")
    parser.add_argument("--makemore", type=Path, help="path of makemore's makemore.py")
    parser.add_argument("--steps", type=int, default=3, help="optimizer steps (default 3)")
    parser.add_argument("--tol", type=float, default=1e-9, help="largest |diff| allowed")
    args = parser.parse_args(argv)
    if args.nanogpt is None and args.makemore is None:
        parser.error("give --nanogpt PATH and/or --makemore PATH")
    for flag, path in (("--nanogpt", args.nanogpt), ("--makemore", args.makemore)):
        if path is not None and not path.is_file():
            print(f"real_programs.py: {flag} {path}: no such file", file=sys.stderr)
            return 2
    try:
        import torch
    except ImportError:
        print("real_programs.py: needs PyTorch (pip install torch) to compare with",
              file=sys.stderr)
        return 2
    torch.set_num_threads(1)  # both on one thread: on a small machine, waiting BLAS threads
    tl.set_num_threads(1)  # of one library slow the other down
    report = Report(args.tol)
    if args.nanogpt is not None:
        check_nanogpt(args.nanogpt, report, args.steps)
    if args.makemore is not None:
        check_makemore(args.makemore, report, args.steps)
    if report.failures:
        print(f"{len(report.failures)} check(s) failed: {report.failures}")
        return 1
    print(f"all {len(report.rows)} differences within {args.tol:g}; all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
