"""What the example scripts share on the command line, so that they can read like the code a
user writes: argument parsing, exit codes, threads, output-path checks, the progress bar
and the divergence check. The MNIST specifics are in :mod:`examples.common.mnist`, the
plots in :mod:`examples.common.plots`.

The promises every script keeps (each has a test in ``tests/test_cli.py`` or
``tests/test_examples_*.py``):

* **Exit codes.** 0 done; 2 bad input -- a bad flag, a missing, unreadable or malformed file,
  a model too big for this machine's memory, running out of memory -- with one line on stderr
  and no traceback; 1 a training run whose loss diverged (see :class:`LossWatch`); 130 Ctrl-C;
  143 SIGTERM. When a trained model had already been saved, the line says so.
* **No work is lost.** Before any work, an output path that is an input or another output, a
  folder, or in a folder that does not exist or cannot be written is refused. Models are saved
  before the final evaluation, so a failure there keeps them. Files are written atomically
  (:func:`tinygrad_lite.io.atomic.atomic_write`: permissions, symlinks, SIGTERM).
* **Threads** are set at run time (:func:`tinygrad_lite.set_num_threads`: BLAS on one thread
  through threadpoolctl, tinygrad_lite's products on N), ``--threads N`` or by
  :data:`THREADS_RULE`.
* **Logs stay clean.** The progress bar (tqdm) is drawn only when stderr is a terminal; text
  printed during training goes through :func:`say`, which keeps it off the bar's line.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Union

import numpy as np

from tinygrad_lite.data import DataError
from tinygrad_lite.io.atomic import Terminated
from tinygrad_lite.threads import restore_num_threads, set_num_threads

from .checkpoint import CheckpointError
from .models import ArchitectureError

__all__ = [
    "LOSS_EXPLOSION_FACTOR",
    "THREADS_RULE",
    "LossWatch",
    "OneLineParser",
    "Terminated",
    "TrainingDiverged",
    "UsageError",
    "add_threads_flag",
    "check_paths",
    "default_threads",
    "non_negative_int",
    "note_saved",
    "positive",
    "progress",
    "run",
    "say",
    "seed",
    "set_threads",
]

PathLike = Union[str, "os.PathLike[str]"]


class UsageError(Exception):
    """Bad command-line input found after parsing (reported like argparse's errors, status 2)."""


class TrainingDiverged(Exception):
    """The loss stopped being finite or exploded (status 1)."""


# ---- argument parsing ------------------------------------------------------------------------


class OneLineParser(argparse.ArgumentParser):
    """argparse, but errors are one line on stderr (no usage block) and exit with status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see --help)\n")


def positive(kind: type) -> Callable[[str], Any]:
    """argparse type: a number of `kind` that must be > 0 (and finite)."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__}, got {text!r}") from None
        if not value > 0 or (kind is float and not math.isfinite(value)):
            raise argparse.ArgumentTypeError(f"must be positive and finite, got {text}")
        return value

    parse.__name__ = f"positive {kind.__name__}"
    return parse


def non_negative_int(text: str) -> int:
    """argparse type: an int >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an int, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def seed(text: str) -> int:
    """argparse type: a random seed, 0 <= seed < 2**32 (what numpy's generators take)."""
    value = non_negative_int(text)
    if value >= 2**32:
        raise argparse.ArgumentTypeError(f"must be below 2**32, got {text}")
    return value


# ---- threads ---------------------------------------------------------------------------------

THREADS_RULE = (
    "default: one thread per idle core, that is the cores less those other programs keep busy "
    "now (their CPU time over a quarter of a second, from /proc/stat; elsewhere the 1-minute "
    "load average), rounded, at least 1: all cores on a quiet machine, fewer when other "
    "programs keep cores busy (a thread that waits for a busy core stalls every matrix product)"
)


def busy_cores(window: float = 0.25) -> float:
    """How many cores other processes keep busy now: the machine's CPU time over `window`
    seconds (/proc/stat) less this process's own. Not the load average: that remembers the
    last minute, so it still counts a program that has just finished (or this one's own
    work). Where /proc/stat is missing, the 1-minute load average."""

    def busy_jiffies() -> int:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        return sum(fields) - fields[3] - fields[4]  # all but idle and iowait

    try:
        hz = os.sysconf("SC_CLK_TCK")
        b0, own0, t0 = busy_jiffies(), time.process_time(), time.perf_counter()
        time.sleep(window)
        b1, own1, t1 = busy_jiffies(), time.process_time(), time.perf_counter()
    except (OSError, ValueError, IndexError, AttributeError):
        try:
            return os.getloadavg()[0]
        except (AttributeError, OSError):  # pragma: no cover - Windows
            return 0.0
    return max(0.0, ((b1 - b0) / hz - (own1 - own0)) / (t1 - t0))


def default_threads(cores: Optional[int] = None, load: Optional[float] = None) -> int:
    """The number of threads :data:`THREADS_RULE` picks; `load`: the cores other programs keep
    busy (None: :func:`busy_cores`, measured now). Arguments: for tests."""
    if cores is None:
        try:
            cores = len(os.sched_getaffinity(0))  # the cores this process may use
        except AttributeError:  # pragma: no cover - not on Linux
            cores = os.cpu_count() or 1
    if load is None:
        load = busy_cores()
    return max(1, min(cores, cores - round(load)))


def set_threads(requested: Optional[int]) -> str:
    """Compute with `requested` threads (None: :func:`default_threads`), now, for the rest of
    the process (:func:`tinygrad_lite.set_num_threads`: BLAS on one thread, tinygrad_lite's
    products on n). Returns a description for the log."""
    n = default_threads() if requested is None else requested
    how = "--threads" if requested is not None else "default rule, see --help"
    try:
        set_num_threads(n)
    except RuntimeError:  # threadpoolctl is not installed
        if requested is not None:
            raise UsageError("--threads needs threadpoolctl (pip install threadpoolctl)") \
                from None
        return "threads: numpy's default BLAS threads (threadpoolctl is not installed)"
    return f"threads: {n} ({how}; BLAS on 1, tinygrad_lite's products on {n})"


def add_threads_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threads", type=positive(int), metavar="N",
                        help=f"threads for matrix products (tinygrad_lite's own, with BLAS on "
                             f"one thread; threadpoolctl); {THREADS_RULE}")


# ---- output paths ----------------------------------------------------------------------------


def _same(a: Path, b: Path) -> bool:
    """Whether writing `a` could replace or change what `b` names."""
    if a.resolve() == b.resolve():
        return True
    if a.parent.resolve() / a.name == b.parent.resolve() / b.name:
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _check_writable(flag: str, path: Path) -> None:
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise UsageError(f"{flag} {path}: is a folder")
    if not folder.is_dir():
        raise UsageError(f"{flag} {path}: folder {folder} does not exist")
    try:  # what atomic_write will need: a new file in that folder
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise UsageError(f"{flag} {path}: cannot write in {folder} ({e.strerror or e})") \
            from None


def check_paths(
    inputs: Dict[str, Iterable[Optional[PathLike]]],
    outputs: Dict[str, Iterable[Optional[PathLike]]],
) -> None:
    """Refuse, before any work, an output that is an input or another output, or cannot be
    written. Both map a flag to the paths it names (None entries are skipped); paths are
    compared resolved (through symlinks and ``..``) and, when both exist, by inode."""
    ins = [(flag, Path(p)) for flag, ps in inputs.items() for p in ps if p is not None]
    outs = [(flag, Path(p)) for flag, ps in outputs.items() for p in ps if p is not None]
    for i, (flag, path) in enumerate(outs):
        for in_flag, in_path in ins:
            if _same(path, in_path):
                raise UsageError(f"{flag} {path} would overwrite the input {in_flag} {in_path}")
        for other_flag, other in outs[:i]:
            if _same(path, other):
                raise UsageError(f"{flag} {path} is also the output of {other_flag} {other}")
        _check_writable(flag, path)


_saved: List[str] = []


def note_saved(path: PathLike) -> None:
    """Record that a trained model is on disk, so a later failure can say it was kept."""
    _saved.append(str(path))


# ---- progress and messages -------------------------------------------------------------------

_bars: List[Any] = []


def progress(iterable: Iterable, enabled: bool = True, **tqdm_args: Any) -> Iterator:
    """`iterable` with a tqdm progress bar on stderr, drawn only when `enabled` and stderr is a
    terminal (so a log file gets no bar updates)."""
    if not (enabled and sys.stderr.isatty()):
        yield from iterable
        return
    from tqdm import tqdm

    bar = tqdm(iterable, file=sys.stderr, dynamic_ncols=True, **tqdm_args)
    _bars.append(bar)
    try:
        yield from bar
    finally:
        if bar in _bars:
            _bars.remove(bar)
        bar.close()


def set_postfix(**values: Any) -> None:
    """Show `values` at the end of the innermost progress bar (if one is drawn)."""
    if _bars:
        _bars[-1].set_postfix(refresh=False, **values)


def say(text: str) -> None:
    """Print a line on stdout; while a progress bar is drawn, above it (no blank lines, no
    broken bar)."""
    if _bars:
        from tqdm import tqdm

        tqdm.write(text, file=sys.stdout)
        sys.stdout.flush()
    else:
        print(text, flush=True)


# ---- divergence ------------------------------------------------------------------------------

LOSS_EXPLOSION_FACTOR = 1e4


class LossWatch:
    """Stops a run whose loss diverges: raises TrainingDiverged when a loss is not finite, or
    is more than LOSS_EXPLOSION_FACTOR (10,000) times max(first loss, 1) -- cross-entropy
    starts near ln(10) = 2.3 for 10 classes, so above ~23,000, a value no converging run
    reaches."""

    def __init__(self) -> None:
        self.first: Optional[float] = None

    def check(self, iteration: int, loss: float) -> None:
        hint = "training stopped (learning rate too large?)"
        if not math.isfinite(loss):
            raise TrainingDiverged(f"loss became {loss} at iteration {iteration}; {hint}")
        if self.first is None:
            self.first = loss
        limit = LOSS_EXPLOSION_FACTOR * max(self.first, 1.0)
        if loss > limit:
            raise TrainingDiverged(
                f"loss became {loss:.3g} at iteration {iteration}, more than "
                f"{LOSS_EXPLOSION_FACTOR:,.0f} x max(first loss {self.first:.3g}, 1); {hint}"
            )


# ---- running a script ------------------------------------------------------------------------


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated()


def run(parser: argparse.ArgumentParser, body: Callable[[argparse.Namespace], Optional[int]],
        argv: Optional[Sequence[str]] = None) -> int:
    """Parse `argv`, set the BLAS threads (``args.threads`` when the parser has the flag; the
    description lands in ``args.threads_text``), then `body(args)` under the exit conventions
    above. Returns the exit status. ``args.start_time`` is when this began (perf_counter)."""
    start = time.perf_counter()
    args = parser.parse_args(argv)
    args.start_time = start
    prog = parser.prog
    _saved.clear()
    previous = signal.signal(signal.SIGTERM, _on_sigterm)

    def fail(status: int, message: str) -> int:
        while _bars:  # finish a progress bar's line before the message, not after it
            _bars.pop().close()
        if _saved:
            message += f" (the trained model was saved first: {', '.join(_saved)})"
        print(f"{prog}: {message}", file=sys.stderr)
        return status

    try:
        if hasattr(args, "threads"):
            args.threads_text = set_threads(args.threads)
        # a diverging run is reported by LossWatch, by name, not by numpy's overflow warnings
        with np.errstate(over="ignore", invalid="ignore"):
            return body(args) or 0
    except UsageError as e:
        return fail(2, f"error: {' '.join(str(e).split())} (see --help)")
    except (DataError, CheckpointError, ArchitectureError) as e:
        return fail(2, f"error: {e}")
    except MemoryError as e:
        detail = f" ({' '.join(str(e).split())})" if str(e) else ""
        return fail(2, f"error: out of memory{detail}; try a smaller model, --limit or "
                       f"--batch-size")
    except OSError as e:
        where = f"{e.filename}: " if e.filename else ""
        return fail(2, f"error: {where}{e.strerror or e}")
    except TrainingDiverged as e:
        return fail(1, str(e))
    except KeyboardInterrupt:
        return fail(130, "interrupted")
    except Terminated:
        return fail(143, "terminated (SIGTERM)")
    finally:
        signal.signal(signal.SIGTERM, previous)
        restore_num_threads()  # run() may be called in-process (tests): leave threads as found
