"""Files made up for tests (imported by the test modules beside it)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG that declares width x height greyscale pixels but holds no pixel data."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))
    return path
