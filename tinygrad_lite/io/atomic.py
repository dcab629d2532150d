"""The one way files are written: :func:`atomic_write`.

It writes to a temporary file in the same folder, then ``os.replace``-s it over the target, so
a reader sees the old file or the whole new one, never part of one. Afterwards:

* a file that is overwritten keeps its permission bits; a new file gets ``0o666 & ~umask``,
  as ``open(path, "w")`` would create it (not the 0600 of a bare temporary file);
* a symbolic link at the path is replaced by the new file; the file it pointed to is left as
  it was (the link is not written through);
* no temporary file is left behind when the write fails, is interrupted by Ctrl-C, or the
  process gets SIGTERM while writing (the signal then goes on to its previous handler, so the
  process still terminates as it would have).
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import stat
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Union

__all__ = ["Terminated", "atomic_write"]

PathLike = Union[str, "os.PathLike[str]"]


class Terminated(BaseException):
    """SIGTERM arrived. A BaseException, so ``except Exception`` lets it through."""


def _umask() -> int:
    mask = os.umask(0)  # the only portable way to read it: set, then put it back at once
    os.umask(mask)
    return mask


def _new_file_mode(path: Path) -> int:
    """The mode the file at `path` should get: that of the file there now (through a
    symlink), else what open() would create, 0o666 less the umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~_umask()


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """While the block runs, SIGTERM raises Terminated inside it (so `finally` clauses clean
    up); then the signal is sent again to whatever handled it before (by default: the
    process ends)."""
    previous = signal.getsignal(signal.SIGTERM)
    if threading.current_thread() is not threading.main_thread() or previous == signal.SIG_IGN:
        yield  # signal handlers can only be set from the main thread
        return

    def unwind(signum: int, frame: Any) -> None:
        raise Terminated()

    signal.signal(signal.SIGTERM, unwind)
    try:
        yield
    except Terminated:
        signal.signal(signal.SIGTERM, previous)
        os.kill(os.getpid(), signal.SIGTERM)  # the previous handler (or the default) runs now
        raise InterruptedError(errno.EINTR, "write interrupted by SIGTERM") from None
    finally:
        if signal.getsignal(signal.SIGTERM) is unwind:
            signal.signal(signal.SIGTERM, previous)


def atomic_write(path: PathLike, write: Callable[[Any], None]) -> None:
    """Call `write(binary_file)` on a temporary file next to `path`, then rename it to `path`
    (see the module's rules on permissions, symlinks and signals)."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    mode = _new_file_mode(path)
    with _sigterm_unwinds():
        tmp: Optional[str] = None
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
            with os.fdopen(fd, "wb") as f:
                os.fchmod(f.fileno(), mode)
                write(f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            tmp = None
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
