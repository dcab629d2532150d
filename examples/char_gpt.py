#!/usr/bin/env python
"""A character-level GPT on tiny-shakespeare: nanoGPT's ``shakespeare_char`` "baby" run on a CPU.

nanoGPT's configuration, as its README runs it on a laptop: 4 layers, 4 heads, 128 wide, a
context of 64 characters, batches of 12, 2,000 iterations; AdamW (betas 0.9, 0.99, weight decay
0.1 on the matrices), lr 1e-3 with 100 warm-up iterations and cosine decay to 1e-4, gradients
clipped to norm 1.0, no dropout, no biases. The first 90% of the text trains, the last 10%
validates. It prints the training loss every 100 iterations, then ``val loss X`` (the mean over
200 random validation batches of 12 x 64) and a 500-character sample.

    python examples/char_gpt.py                          # about 1.9 val loss
    python examples/char_gpt.py --iters 200 --sample 100 # a quick look
    python examples/char_gpt.py --save gpt.npz           # then: --load gpt.npz --sample 2000
    python examples/char_gpt.py --load gpt.npz --sample 0 --export-onnx gpt.onnx  # for ONNX Runtime

The model is examples/common/gpt.py (nanoGPT's model.py, module for module); the flags and
checkpoints live in examples/common/charlm.py.
"""

import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository: examples.common

import numpy as np

import tinygrad_lite as tl
from examples.common import charlm, cli
from examples.common.gpt import GPT, GPTConfig
from tinygrad_lite import nn
from tinygrad_lite.data import CharVocab, get_batch, split_train_val

# nanoGPT's config/train_shakespeare_char.py, with its README's CPU settings
batch_size, block_size = 12, 64
n_layer, n_head, n_embd, dropout, bias = 4, 4, 128, 0.0, False
learning_rate, min_lr, warmup_iters = 1e-3, 1e-4, 100
weight_decay, beta1, beta2, grad_clip = 0.1, 0.9, 0.99, 1.0
eval_iters, log_interval = 200, 100


def get_lr(it: int, max_iters: int) -> float:
    """Linear warm-up for warmup_iters, then cosine decay to min_lr at max_iters."""
    if it < warmup_iters:
        return learning_rate * (it + 1) / (warmup_iters + 1)
    if it > max_iters:
        return min_lr
    ratio = (it - warmup_iters) / max(1, max_iters - warmup_iters)
    coeff = 0.5 * (1.0 + math.cos(math.pi * ratio))
    return min_lr + coeff * (learning_rate - min_lr)


@tl.no_grad()
def estimate_loss(model: GPT, data, generator) -> float:
    """The mean loss over eval_iters random batches of batch_size x block_size."""
    model.eval()
    losses = [model(*get_batch(data, batch_size, block_size, generator))[1].item()
              for _ in range(eval_iters)]
    model.train()
    return sum(losses) / len(losses)


def export_onnx(path: str, model: GPT) -> None:
    """--export-onnx: the model (eval mode) as an ONNX graph of block_size tokens."""
    tl.onnx.export(model, np.zeros((1, block_size), np.int64), path)
    cli.note_saved(path)
    print(f"exported {path} (ONNX opset {tl.onnx.OPSET}: 'input' (batch, {block_size}) int64 "
          f"token ids -> 'output' (batch, {block_size}, {model.config.vocab_size}) logits of "
          f"every position)")


def train(args) -> int:
    charlm.check_outputs(args)
    print(args.threads_text)

    # the data: every character of the text is a token; first 90% train, last 10% validation
    text = charlm.read_data(args.data)
    vocab = CharVocab.from_text(text)
    train_data, val_data = split_train_val(vocab.encode(text), 0.9)
    charlm.check_long_enough(args.data, val_data, "validation", block_size)
    print(f"data: {args.data.name}: {len(text):,} characters, vocabulary of {len(vocab)}; "
          f"train {len(train_data):,}, val {len(val_data):,}")

    # the model
    tl.manual_seed(args.seed)
    config = GPTConfig(block_size=block_size, vocab_size=len(vocab), n_layer=n_layer,
                       n_head=n_head, n_embd=n_embd, dropout=dropout, bias=bias)
    model = GPT(config)
    arch = {"kind": "char_gpt", **config.to_dict(), "vocab": "".join(vocab.itos)}
    if args.load:
        charlm.load_checkpoint(args.load, model, arch)
    max_iters = args.iters if args.iters is not None else (0 if args.load else 2000)
    print(f"model: GPT {n_layer} layers, {n_head} heads, {n_embd} wide, context {block_size}: "
          f"{model.get_num_params() / 1e6:.2f}M parameters"
          + (f" (loaded from {args.load})" if args.load else ""))

    # training: AdamW, warm-up and cosine decay, gradient clipping
    optimizer = model.configure_optimizers(weight_decay, learning_rate, (beta1, beta2))
    g = charlm.generator(args.seed)
    watch, clock = cli.LossWatch(), charlm.Stopwatch()
    for it in range(max_iters):
        lr = get_lr(it, max_iters)
        for group in optimizer.param_groups:
            group["lr"] = lr
        X, Y = get_batch(train_data, batch_size, block_size, generator=g)
        logits, loss = model(X, Y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        optimizer.step()
        watch.check(it, loss.item())  # stops the run if the loss diverges
        if it % log_interval == 0 or it == max_iters - 1:
            print(f"iter {it}: loss {loss.item():.4f}, {clock.seconds:.1f} s")
    train_time = clock.seconds
    if max_iters:
        print(f"trained {max_iters} iterations in {train_time:.1f} s "
              f"({train_time / max_iters * 1e3:.1f} ms per iteration)")
    charlm.save(args.save, model, arch)
    if args.export_onnx:
        export_onnx(args.export_onnx, model)

    # validation loss, then a sample
    val_loss = estimate_loss(model, val_data, charlm.generator(args.seed + 1))
    print(f"val loss {val_loss:.4f}")
    if args.sample:
        start = tl.tensor([vocab.encode("\n")])  # begin at a line break
        out = model.generate(start, args.sample, generator=g)
        print(vocab.decode(out[0])[1:])
    print(f"wall time {time.perf_counter() - args.start_time:.1f} s")
    return 0


def parser():
    p = cli.OneLineParser(prog="char_gpt.py",
                          description="Train nanoGPT's baby character-level GPT on "
                                      "tiny-shakespeare; print its val loss and a sample.")
    charlm.add_common_flags(p, charlm.SHAKESPEARE, seed_default=1337,
                            iters_help="training iterations (default 2000; with --load, none: "
                                       "evaluate and sample the loaded model)")
    p.add_argument("--sample", type=cli.non_negative_int, default=500, metavar="N",
                   help="characters to sample after training (default 500; 0: none)")
    p.add_argument("--export-onnx", metavar="PATH",
                   help=f"also write the model (the one --save saves) as an ONNX graph for "
                        f"ONNX Runtime: input 'input' (batch, {block_size}) int64 token ids, "
                        f"output 'output' (batch, {block_size}, vocab) logits of every "
                        f"position; needs the onnx extra ({tl.onnx.EXTRA_HINT})")
    return p


def main(argv=None) -> int:
    return cli.run(parser(), train, argv)


if __name__ == "__main__":
    sys.exit(main())
