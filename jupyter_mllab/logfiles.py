"""Reading a growing log file from a byte offset, as the jobs' and the services' log
routes answer it (a client asks again from the offset it got back)."""

from __future__ import annotations

from pathlib import Path

MAX_LOG_CHUNK = 1 << 20  # bytes of one answer, at most


def read_chunk(path: Path, offset: int) -> tuple[str, int, bool]:
    """The text from ``offset`` (at most :data:`MAX_LOG_CHUNK` bytes, cut at the last whole
    UTF-8 character), the offset after it, and whether it reached the end of the file
    (a missing file is empty)."""
    data = b""
    if path.exists():
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read(MAX_LOG_CHUNK)
    text = data.decode("utf-8", errors="ignore")
    return text, offset + len(text.encode("utf-8")), len(data) < MAX_LOG_CHUNK
