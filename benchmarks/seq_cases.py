"""The sequence-model benchmark cases: a training iteration of examples/char_gpt.py and a step
of examples/makemore.py's MLP, each against the same network in PyTorch. Registered in
``cases.CASES`` (run.py's "char_gpt" and "makemore")."""

from __future__ import annotations

from typing import Callable, Dict, List

import cases
import numpy as np
from cases import Result, Sizes, interleaved, no_torch_note

import tinygrad_lite as tl


def case_char_gpt(sz: Sizes) -> Result:
    """Training iterations of char_gpt.py's GPT (nanoGPT's baby configuration) on batches of
    12 x 64 tiny-shakespeare characters: forward, loss, backward, clip, AdamW."""
    from examples import char_gpt as ex
    from examples.common import charlm
    from examples.common.gpt import GPT, GPTConfig
    from tinygrad_lite import nn
    from tinygrad_lite.data import CharVocab, get_batch, load_text

    text = load_text(charlm.SHAKESPEARE)
    vocab = CharVocab.from_text(text)
    data = vocab.encode(text)[: len(text) * 9 // 10]
    rng = np.random.default_rng(0)
    batches = [tuple(t.numpy() for t in get_batch(data, ex.batch_size, ex.block_size, rng))
               for _ in range(sz.gpt_iters)]
    notes = no_torch_note("char_gpt")

    tl.manual_seed(0)
    config = GPTConfig(block_size=ex.block_size, vocab_size=len(vocab), n_layer=ex.n_layer,
                       n_head=ex.n_head, n_embd=ex.n_embd, dropout=0.0, bias=ex.bias)
    model = GPT(config)
    opt = model.configure_optimizers(ex.weight_decay, ex.learning_rate, (ex.beta1, ex.beta2))

    def tl_iters() -> None:
        for x, y in batches:
            _, loss = model(tl.from_numpy(x), tl.from_numpy(y))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), ex.grad_clip)
            opt.step()

    fns: Dict[str, Callable[[], object]] = {"tinygrad_lite": tl_iters}
    torch = cases.torch
    if torch is not None:
        from torch_gpt import TorchGPT

        torch.manual_seed(0)
        tmodel = TorchGPT(len(vocab), ex.block_size, ex.n_layer, ex.n_head, ex.n_embd, ex.bias)
        topt = tmodel.configure_optimizers(ex.weight_decay, ex.learning_rate,
                                           (ex.beta1, ex.beta2))
        tbatches = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches]
        n_tl = sum(p.numel() for p in model.parameters())
        n_torch = sum(p.numel() for p in tmodel.parameters())
        if n_tl != n_torch:
            raise AssertionError(f"char_gpt: {n_tl} parameters here, {n_torch} in PyTorch")

        def torch_iters() -> None:
            for x, y in tbatches:
                loss = tmodel(x, y)
                topt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(tmodel.parameters(), ex.grad_clip)
                topt.step()

        fns["pytorch"] = torch_iters
    notes.append(
        "char_gpt: one training iteration of examples/char_gpt.py's GPT (nanoGPT's shakespeare_"
        "char baby configuration: 4 layers, 4 heads, 128 wide, context 64, no bias, no dropout; "
        f"{model.get_num_params() / 1e6:.2f}M parameters), a batch of 12 x 64 characters: "
        "forward, cross-entropy, backward, clip_grad_norm_(1.0), AdamW (0.9, 0.99), weight "
        "decay 0.1 on the matrices; PyTorch: the same network in benchmarks/torch_gpt.py "
        "(nanoGPT's architecture and parameter names, F.scaled_dot_product_attention, "
        f"eager mode); time per iteration, {sz.gpt_iters} iterations per timing"
    )
    times = interleaved(fns, sz.repeats, sz.warmup)
    return {k: v / len(batches) for k, v in times.items()}, notes


def case_makemore(sz: Sizes) -> Result:
    """Steps of makemore.py's default MLP (3-character context, embedding 10, 200 tanh) on
    its default batch, SGD lr 0.1: index the batch, forward, loss, backward, step."""
    from examples import makemore as ex
    from examples.common import charlm
    from tinygrad_lite.data import CharVocab, load_text

    words = load_text(charlm.NAMES).split()
    vocab = CharVocab.from_text("".join(words) + ".")
    X, Y = ex.build_windows(words, vocab.stoi, 3)
    steps, batch_size, _, lr = ex.DEFAULTS["mlp"]
    rng = np.random.default_rng(0)
    batches = [rng.integers(0, X.shape[0], batch_size) for _ in range(sz.makemore_steps)]
    notes = no_torch_note("makemore")

    tl.manual_seed(0)
    model = ex.MLP(len(vocab))
    opt = tl.optim.SGD(model.parameters(), lr=lr)
    tl_batches = [tl.from_numpy(ix) for ix in batches]

    def tl_steps() -> None:
        for ix in tl_batches:
            loss = ex.loss_fn(model, X[ix], Y[ix])
            opt.zero_grad()
            loss.backward()
            opt.step()

    fns: Dict[str, Callable[[], object]] = {"tinygrad_lite": tl_steps}
    torch = cases.torch
    if torch is not None:
        T, tF = torch.nn, cases.torch_F

        class TorchMLP(T.Module):
            def __init__(self) -> None:
                super().__init__()
                self.C = T.Embedding(len(vocab), 10)
                self.hidden = T.Linear(30, 200)
                self.out = T.Linear(200, len(vocab))

            def forward(self, idx):
                emb = self.C(idx)
                return self.out(torch.tanh(self.hidden(emb.view(emb.shape[0], -1))))

        torch.manual_seed(0)
        tmodel = TorchMLP()
        topt = torch.optim.SGD(tmodel.parameters(), lr=lr)
        tX, tY = torch.from_numpy(X.numpy()), torch.from_numpy(Y.numpy())
        t_batches = [torch.from_numpy(ix) for ix in batches]

        def torch_steps() -> None:
            for ix in t_batches:
                logits = tmodel(tX[ix])
                loss = tF.cross_entropy(logits, tY[ix])
                topt.zero_grad()
                loss.backward()
                topt.step()

        fns["pytorch"] = torch_steps
    notes.append(
        f"makemore: one SGD step (lr {lr}) of examples/makemore.py's default MLP (27 x 10 "
        f"embedding, 3-character context, Linear 30->200, tanh, Linear 200->27; 11,897 "
        f"parameters) on a random batch of {batch_size} of names.txt's windows: index the "
        "batch, forward, cross-entropy, backward, step; PyTorch: the same layers in torch.nn; "
        f"time per step, {sz.makemore_steps} steps per timing"
    )
    times = interleaved(fns, sz.repeats, sz.warmup)
    return {k: v / len(batches) for k, v in times.items()}, notes


SEQ_CASES: Dict[str, Callable[[Sizes], Result]] = {
    "char_gpt": case_char_gpt,
    "makemore": case_makemore,
}
SEQ_ORDER: List[str] = list(SEQ_CASES)
