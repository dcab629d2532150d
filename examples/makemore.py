#!/usr/bin/env python
"""makemore: make more names like the 32,033 in names.txt, one character at a time.

Andrej Karpathy's makemore lectures, on tinygrad_lite. The names are shuffled (seeded) and
split by name 80/10/10 into train, dev and test; every model learns P(next character | the
characters before it), with "." marking both the start and the end of a name, and is judged by
its per-character cross-entropy (nats) on the dev names. Then it samples 20 new names.

    python examples/makemore.py                   # part 2: the MLP of Bengio et al. 2003
    python examples/makemore.py --model bigram    # part 1: a 27 x 27 table of counts, learned
    python examples/makemore.py --model lstm      # rnn, gru, lstm: recurrent nets over the name
    python examples/makemore.py --model transformer --save tf.npz

The models:

  bigram       logits of the next character = one row of a 27 x 27 table, picked by this one
  mlp          the last 3 characters -> embeddings (10 each) -> 200 tanh -> 27 logits
  rnn/gru/lstm every character -> embedding (64) -> nn.RNN / nn.GRU / nn.LSTM (64) -> 27 logits
  transformer  a GPT (examples/common/gpt.py): 4 layers, 4 heads, 64 wide, the whole name

The flags and checkpoints live in examples/common/charlm.py.
"""

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository: examples.common

import tinygrad_lite as tl
from examples.common import charlm, cli
from examples.common.gpt import GPT, GPTConfig
from tinygrad_lite import nn
from tinygrad_lite.data import CharVocab
from tinygrad_lite.nn import functional as F

# ---- the models -------------------------------------------------------------------------------


class Bigram(nn.Module):
    """P(next | this): a table of logits, one row per character (lecture part 1)."""

    block_size = 1

    def __init__(self, vocab_size: int) -> None:
        super().__init__()
        self.table = nn.Embedding(vocab_size, vocab_size)
        nn.init.zeros_(self.table.weight)  # every next character equally likely at first

    def forward(self, idx: tl.Tensor) -> tl.Tensor:  # (B, 1) -> (B, vocab)
        return self.table(idx[:, -1])


class MLP(nn.Module):
    """Bengio et al. 2003 (lecture part 2): the embeddings of the last block_size characters,
    concatenated, through one tanh layer."""

    def __init__(self, vocab_size: int, block_size: int = 3, n_embd: int = 10,
                 n_hidden: int = 200) -> None:
        super().__init__()
        self.block_size = block_size
        self.C = nn.Embedding(vocab_size, n_embd)
        self.hidden = nn.Linear(block_size * n_embd, n_hidden)
        self.out = nn.Linear(n_hidden, vocab_size)

    def forward(self, idx: tl.Tensor) -> tl.Tensor:  # (B, block_size) -> (B, vocab)
        emb = self.C(idx)  # (B, block_size, n_embd)
        h = tl.tanh(self.hidden(emb.view(emb.shape[0], -1)))
        return self.out(h)


class Recurrent(nn.Module):
    """An embedding, a recurrent layer over the whole name, and a linear read-out at every step."""

    block_size = None  # reads the whole name

    def __init__(self, cell: str, vocab_size: int, n_embd: int = 64, n_hidden: int = 64) -> None:
        super().__init__()
        self.wte = nn.Embedding(vocab_size, n_embd)
        layer = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[cell]
        self.rnn = layer(n_embd, n_hidden, batch_first=True)
        self.lm_head = nn.Linear(n_hidden, vocab_size)

    def forward(self, idx: tl.Tensor) -> tl.Tensor:  # (B, T) -> (B, T, vocab)
        out, _ = self.rnn(self.wte(idx))
        return self.lm_head(out)


class Transformer(GPT):
    """makemore's transformer: the GPT of examples/common/gpt.py, logits at every position."""

    block_size = None

    def forward(self, idx: tl.Tensor) -> tl.Tensor:  # (B, T) -> (B, T, vocab)
        return self.lm_head(self.hidden_states(idx))


# per model: (steps, batch size, optimizer, learning rate for the first half of the steps; a
# tenth of it for the second half, as in the lecture)
DEFAULTS = {
    "bigram": (2_000, 256, "adamw", 0.3),
    "mlp": (30_000, 128, "sgd", 0.1),  # the lecture's SGD: lr 0.1, then 0.01
    "rnn": (6_000, 64, "adamw", 3e-3),
    "gru": (6_000, 64, "adamw", 3e-3),
    "lstm": (6_000, 64, "adamw", 3e-3),
    "transformer": (4_000, 64, "adamw", 1e-3),
}


def build_model(name: str, vocab_size: int, max_len: int) -> nn.Module:
    if name == "bigram":
        return Bigram(vocab_size)
    if name == "mlp":
        return MLP(vocab_size)
    if name in ("rnn", "gru", "lstm"):
        return Recurrent(name, vocab_size)
    return Transformer(GPTConfig(block_size=max_len + 1, vocab_size=vocab_size, n_layer=4,
                                 n_head=4, n_embd=64, bias=False))


# ---- the data ---------------------------------------------------------------------------------


def build_windows(words, stoi, block_size):
    """Lecture part 2's dataset: for every character of every name (and its closing "."), the
    block_size characters before it, "."-padded at the start. X (N, block_size), Y (N,)."""
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    return tl.tensor(X, dtype=tl.int64), tl.tensor(Y, dtype=tl.int64)


def build_sequences(words, stoi, max_len):
    """makemore's dataset for the sequence models: x = "." + name, y = name + ".", both padded
    to max_len + 1; padded targets are -1 (ignored by the loss). X, Y (N, max_len + 1)."""
    X, Y = [], []
    for w in words:
        ids = [stoi[ch] for ch in w]
        pad = max_len - len(ids)
        X.append([0] + ids + [0] * pad)
        Y.append(ids + [0] + [-1] * pad)
    return tl.tensor(X, dtype=tl.int64), tl.tensor(Y, dtype=tl.int64)


def loss_fn(model, X, Y):
    """The mean cross-entropy of the next character, over every target that is not padding."""
    logits = model(X)
    return F.cross_entropy(logits.view(-1, logits.size(-1)), Y.view(-1), ignore_index=-1)


@tl.no_grad()
def evaluate(model, X, Y, batch_size=4096):
    """The per-character loss over a whole split (in chunks; weighted by real targets)."""
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(X), batch_size):
        y = Y[i:i + batch_size]
        n = int((y.numpy() >= 0).sum())
        total += loss_fn(model, X[i:i + batch_size], y).item() * n
        count += n
    model.train()
    return total / count


@tl.no_grad()
def sample_names(model, itos, max_len, num, generator):
    """`num` names drawn one character at a time until "." (or max_len characters)."""
    if num == 0:
        return []
    model.eval()
    idx = tl.zeros((num, model.block_size or 1), dtype=tl.int64)  # the start: all "."
    for _ in range(max_len + 1):
        context = idx[:, -model.block_size:] if model.block_size else idx
        logits = model(context)
        if logits.ndim == 3:
            logits = logits[:, -1, :]
        probs = F.softmax(logits, dim=-1)
        idx = tl.cat([idx, tl.multinomial(probs, num_samples=1, generator=generator)], dim=1)
    model.train()
    names = []
    for row in idx[:, model.block_size or 1:].tolist():
        ids = row[:row.index(0)] if 0 in row else row
        names.append("".join(itos[i] for i in ids))
    return names


def train(args) -> int:
    charlm.check_outputs(args)
    print(args.threads_text)
    steps, batch_size, optimizer_name, lr = DEFAULTS[args.model]
    steps = args.iters if args.iters is not None else (0 if args.load else steps)
    batch_size = args.batch_size or batch_size

    # the names, shuffled and split 80/10/10; "." is id 0, then a..z
    words = [w.strip() for w in charlm.read_data(args.data).splitlines() if w.strip()]
    vocab = CharVocab.from_text("".join(words) + ".")
    stoi, itos = vocab.stoi, vocab.itos
    max_len = max(len(w) for w in words)
    random.seed(args.seed)
    random.shuffle(words)
    n1, n2 = int(0.8 * len(words)), int(0.9 * len(words))
    print(f"data: {args.data.name}: {len(words):,} names, {len(vocab)} characters, longest "
          f"{max_len}; train {n1:,}, dev {n2 - n1:,}, test {len(words) - n2:,} names")

    # the model
    tl.manual_seed(args.seed)
    model = build_model(args.model, len(vocab), max_len)
    if model.block_size:
        build = lambda ws: build_windows(ws, stoi, model.block_size)  # noqa: E731
    else:
        build = lambda ws: build_sequences(ws, stoi, max_len)  # noqa: E731
    Xtr, Ytr = build(words[:n1])
    Xdev, Ydev = build(words[n1:n2])
    arch = {"kind": "makemore", "model": args.model, "vocab": "".join(itos), "max_len": max_len}
    if args.load:
        charlm.load_checkpoint(args.load, model, arch)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {args.model}, {n_params:,} parameters; {steps:,} steps of {batch_size}, "
          f"{optimizer_name} lr {lr:g}" + (f" (loaded from {args.load})" if args.load else ""))

    # training: random mini-batches
    if optimizer_name == "sgd":
        optimizer = tl.optim.SGD(model.parameters(), lr=lr)
    else:
        optimizer = tl.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    g = charlm.generator(args.seed)
    watch, clock = cli.LossWatch(), charlm.Stopwatch()
    for i in range(steps):
        ix = tl.randint(0, Xtr.shape[0], (batch_size,), generator=g)
        loss = loss_fn(model, Xtr[ix], Ytr[ix])
        optimizer.zero_grad()
        loss.backward()
        optimizer.param_groups[0]["lr"] = lr if i < steps // 2 else lr / 10  # step decay
        optimizer.step()
        watch.check(i, loss.item())  # stops the run if the loss diverges
        if i % max(steps // 10, 1) == 0 or i == steps - 1:
            print(f"step {i:7d}/{steps}: loss {loss.item():.4f}, {clock.seconds:.1f} s")
    if steps:
        print(f"trained {steps:,} steps in {clock.seconds:.1f} s "
              f"({clock.seconds / steps * 1e3:.2f} ms per step)")
    charlm.save(args.save, model, arch)

    # train and dev loss, then 20 new names
    print(f"train loss {evaluate(model, Xtr, Ytr):.4f}")
    print(f"dev loss {evaluate(model, Xdev, Ydev):.4f}")
    for name in sample_names(model, itos, max_len, args.num_samples, g):
        print(name or ".")  # "." alone: the model ended the name at once
    print(f"wall time {time.perf_counter() - args.start_time:.1f} s")
    return 0


def parser():
    p = cli.OneLineParser(prog="makemore.py",
                          description="Train a character-level model on names.txt; print train "
                                      "and dev loss and sampled names.")
    p.add_argument("--model", choices=list(DEFAULTS), default="mlp",
                   help="bigram, mlp (default), rnn, gru, lstm or transformer")
    charlm.add_common_flags(
        p, charlm.NAMES, seed_default=42,
        iters_help="training steps (default per model: "
                   + ", ".join(f"{m} {d[0]:,}" for m, d in DEFAULTS.items())
                   + "; with --load, none: evaluate and sample the loaded model)")
    p.add_argument("--batch-size", type=cli.positive(int), default=None, metavar="B",
                   help="names (rnn, gru, lstm, transformer) or characters (bigram, mlp) per "
                        "step (default per model: "
                        + ", ".join(f"{m} {d[1]}" for m, d in DEFAULTS.items()) + ")")
    p.add_argument("--num-samples", type=cli.non_negative_int, default=20, metavar="N",
                   help="names to sample at the end (default 20)")
    return p


def main(argv=None) -> int:
    return cli.run(parser(), train, argv)


if __name__ == "__main__":
    sys.exit(main())
