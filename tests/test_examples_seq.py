"""examples/makemore.py and examples/char_gpt.py, run as scripts, shortened: a few hundred
iterations each, asserting the loss falls below a bound that the full runs comfortably beat
(makemore's MLP reaches dev loss <= 2.17, char_gpt val loss <= 1.91; examples/README.md has
the measured figures), and their bad-input errors."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def run_example(script: str, *args, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), "--threads", "1", *map(str, args)],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT,
    )


def loss_of(stdout: str, name: str) -> float:
    m = re.search(rf"^{name} loss ([0-9.]+)$", stdout, re.M)
    assert m, stdout
    return float(m.group(1))


def assert_one_line_error(r: subprocess.CompletedProcess, *words: str) -> None:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    for w in words:
        assert w in lines[0], lines[0]


def sampled_names(stdout: str, n: int) -> list:
    lines = stdout.strip().splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith("dev loss"))
    return lines[i + 1: i + 1 + n]


# ---- makemore ---------------------------------------------------------------------------------


def test_makemore_mlp_shortened_learns_and_samples(tmp_path):
    # 300 SGD steps of the default MLP (batch 128, lr 0.1 then 0.01): about 2.5; the full run
    # (30,000 steps) reaches <= 2.17, and the uniform guess is ln 27 = 3.30
    ckpt = tmp_path / "mlp.npz"
    r = run_example("makemore.py", "--iters", 300, "--save", ckpt)
    assert r.returncode == 0, r.stderr
    dev = loss_of(r.stdout, "dev")
    assert dev < 2.75
    assert loss_of(r.stdout, "train") < 2.75
    names = sampled_names(r.stdout, 20)
    assert len(names) == 20 and all(re.fullmatch(r"[a-z]+|\.", n) for n in names), names
    # the saved model loads and evaluates to the same dev loss, with no training
    r2 = run_example("makemore.py", "--load", ckpt, "--num-samples", 2)
    assert r2.returncode == 0, r2.stderr
    assert loss_of(r2.stdout, "dev") == dev


@pytest.fixture(scope="module")
def few_names(tmp_path_factory):
    """The first 4,000 names of names.txt: the sequence models' evaluation of the whole
    training split is the slow part of a short run."""
    path = tmp_path_factory.mktemp("names") / "names4000.txt"
    lines = (ROOT / "data" / "names" / "names.txt").read_text().splitlines()
    path.write_text("\n".join(lines[:4000]) + "\n")
    return path


@pytest.mark.parametrize("model, iters, bound", [
    ("bigram", 300, 2.6),  # these reach about 2.3 (bigram), 2.15-2.3 (the others)
    ("rnn", 100, 2.5),
    ("gru", 100, 2.5),
    ("lstm", 100, 2.5),
    ("transformer", 100, 2.6),
])
def test_makemore_other_models_learn(few_names, model, iters, bound):
    # the full runs reach about 2.0-2.1 (bigram 2.46) on all the names; the uniform guess is
    # ln 27 = 3.30
    r = run_example("makemore.py", "--model", model, "--iters", iters, "--num-samples", 3,
                    "--data", few_names)
    assert r.returncode == 0, r.stderr
    assert loss_of(r.stdout, "dev") < bound
    assert len(sampled_names(r.stdout, 3)) == 3


def test_makemore_samples_nothing_when_asked():
    r = run_example("makemore.py", "--iters", 1, "--num-samples", 0)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-2].startswith("dev loss")


def test_makemore_bad_input(tmp_path):
    assert_one_line_error(run_example("makemore.py", "--iters", 0), "--iters")
    assert_one_line_error(run_example("makemore.py", "--model", "cnn"), "--model")
    missing = tmp_path / "missing.txt"
    assert_one_line_error(run_example("makemore.py", "--data", missing), str(missing))
    binary = tmp_path / "names.bin"
    binary.write_bytes(b"anna\n\xff\xfe\x00bob\n")
    assert_one_line_error(run_example("makemore.py", "--data", binary), str(binary))
    assert_one_line_error(run_example("makemore.py", "--data", tmp_path), str(tmp_path))
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    assert_one_line_error(run_example("makemore.py", "--data", empty), "empty")


def test_makemore_refuses_a_checkpoint_of_another_model(tmp_path):
    ckpt = tmp_path / "bigram.npz"
    r = run_example("makemore.py", "--model", "bigram", "--iters", 1, "--num-samples", 0,
                    "--save", ckpt)
    assert r.returncode == 0, r.stderr
    assert_one_line_error(run_example("makemore.py", "--model", "mlp", "--load", ckpt),
                          str(ckpt), "bigram")
    assert_one_line_error(run_example("char_gpt.py", "--load", ckpt), str(ckpt))
    not_npz = tmp_path / "junk.npz"
    not_npz.write_text("not a checkpoint")
    assert_one_line_error(run_example("makemore.py", "--load", not_npz), str(not_npz))
    assert_one_line_error(run_example("makemore.py", "--load", tmp_path / "none.npz"),
                          "none.npz")
    # --save may not overwrite the data it reads
    assert_one_line_error(run_example("makemore.py", "--data", ckpt, "--save", ckpt), "--save")


# ---- char_gpt ---------------------------------------------------------------------------------


def test_char_gpt_shortened_learns_and_samples(tmp_path):
    # 150 iterations of nanoGPT's baby configuration (warm-up 100, cosine to 1e-4 over the
    # 150): about 2.5; the full 2,000 reach <= 1.91; the uniform guess is ln 65 = 4.17 and
    # the characters' own frequencies give 3.3
    ckpt = tmp_path / "gpt.npz"
    r = run_example("char_gpt.py", "--iters", 150, "--sample", 100, "--save", ckpt,
                    timeout=300)
    assert r.returncode == 0, r.stderr
    val = loss_of(r.stdout, "val")
    assert val < 2.75
    sample = r.stdout.split(f"val loss {val:.4f}\n", 1)[1].rsplit("\nwall time", 1)[0]
    assert len(sample) == 100
    # loading with another text: its vocabulary differs, a one-line error
    other = tmp_path / "other.txt"
    other.write_text("abc abc abc\n" * 100)
    assert_one_line_error(run_example("char_gpt.py", "--data", other, "--load", ckpt),
                          str(ckpt), "vocab")
    # the checkpoint holds nanoGPT's parameter names (makemore's test reloads and re-evaluates)
    import tinygrad_lite as tl

    saved = tl.load(ckpt)
    assert "transformer.h.3.attn.c_attn.weight" in saved and "lm_head.weight" in saved


def test_char_gpt_bad_input(tmp_path):
    assert_one_line_error(run_example("char_gpt.py", "--iters", 0), "--iters")
    assert_one_line_error(run_example("char_gpt.py", "--sample", -1), "--sample")
    missing = tmp_path / "missing.txt"
    assert_one_line_error(run_example("char_gpt.py", "--data", missing), str(missing))
    short = tmp_path / "short.txt"
    short.write_text("to be or not to be\n")
    assert_one_line_error(run_example("char_gpt.py", "--data", short, "--iters", 1), "short")


# ---- the GPT is nanoGPT's network -------------------------------------------------------------


def test_gpt_weights_give_pytorchs_loss_and_gradients_in_nanogpts_layout(monkeypatch):
    """examples/common/gpt.py's GPT and the PyTorch GPT of the benchmark (nanoGPT's
    architecture and parameter names) agree, in float64, on the same weights: the state_dict
    keys, the loss and every parameter's gradient."""
    torch = pytest.importorskip("torch")
    import numpy as np

    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from torch_gpt import TorchGPT

    import tinygrad_lite as tl
    from examples.common.gpt import GPT, GPTConfig

    tl.manual_seed(0)
    config = GPTConfig(block_size=8, vocab_size=11, n_layer=2, n_head=2, n_embd=16)
    model = GPT(config).to(np.float64)
    ours = model.state_dict()
    theirs = TorchGPT(11, 8, 2, 2, 16, bias=False).double()
    assert list(ours) == list(theirs.state_dict())
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.items()})
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 11, (3, 8)), rng.integers(0, 11, (3, 8))
    y[0, -2:] = -1  # ignored targets
    _, loss = model(tl.tensor(x), tl.tensor(y))
    loss.backward()
    tloss = theirs(torch.from_numpy(x), torch.from_numpy(y))
    tloss.backward()
    assert abs(loss.item() - tloss.item()) < 1e-9
    tgrads = dict(theirs.named_parameters())
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tgrads[name].grad.numpy(), atol=1e-9,
                                   err_msg=name)
    # without targets: the last position's logits, (B, 1, vocab)
    with tl.no_grad():
        logits, none = model(tl.tensor(x))
    assert none is None and logits.shape == (3, 1, 11)
