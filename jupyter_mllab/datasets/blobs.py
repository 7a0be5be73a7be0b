"""Content-addressed blobs of one project: temp file, fsync, rename; read-only once stored."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import mmap
import os
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import PayloadTooLarge

_READ_ONLY = 0o444


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Staged:
    """A file on its way into a version: its path in the dataset, content and temp file."""

    path: str
    sha256: str
    size: int
    temp: Path | None = None  # None: the blob is already stored


class HashingWriter:
    """Writes a temp file and computes its sha256 while the bytes stream in (one pass).

    Large files go to disk with O_DIRECT from page-aligned buffers, handed to a writer
    thread while the caller hashes the next buffer: on these machines a buffered write
    costs the CPU more than the sha256 itself (new page-cache pages), O_DIRECT almost
    nothing. Resumed, unaligned or unsupported cases fall back to buffered writes.
    """

    BLOCK = 4096
    BUFFER = 8 << 20

    def __init__(self, path: Path, limit: int | None = None, append: bool = False):
        self.path = path
        self.limit = limit
        self._hash = hashlib.sha256()
        self.size = 0
        if append and path.exists():
            # Resuming after a restart: re-hash what is already on disk.
            with open(path, "rb") as f:
                while block := f.read(1 << 20):
                    self._hash.update(block)
                    self.size += len(block)
        self._direct: _DirectWriter | None = None
        self._file: Any = None
        if self.size % self.BLOCK == 0:
            self._direct = _DirectWriter.open(path, self.size, self.BUFFER)
        if self._direct is None:
            self._file = open(path, "ab" if append else "wb")  # noqa: SIM115 (closed in close())

    def write(self, data: bytes | memoryview) -> None:
        if self.limit is not None and self.size + len(data) > self.limit:
            raise PayloadTooLarge(
                f"This file is larger than the limit of {self.limit:,} bytes.", reason="too_large"
            )
        self._hash.update(data)
        if self._direct is not None:
            self._direct.write(data)
        else:
            self._file.write(data)
        self.size += len(data)

    # -- receiving in place (no copy): the caller reads straight into the aligned buffer --
    @property
    def in_place(self) -> bool:
        """Whether ``receive_room``/``received`` can be used (O_DIRECT mode)."""
        return self._direct is not None

    @contextmanager
    def receive_room(self) -> Iterator[memoryview]:
        """The free part of the current aligned buffer, to read the next bytes into; then
        call ``received(n)``. Never empty: a full buffer is handed over at once."""
        assert self._direct is not None
        d = self._direct
        with memoryview(d.buffers[d.current]) as whole, whole[d.fill :] as room:
            yield room

    def pending_write(self) -> Future[None] | None:
        """The write the next hand-over would wait for (await it off the event loop)."""
        return self._direct.pending if self._direct is not None else None

    def received(self, n: int) -> None:
        """``n`` bytes were put at the start of the last ``receive_room``: hash and keep."""
        assert self._direct is not None
        if self.limit is not None and self.size + n > self.limit:
            raise PayloadTooLarge(
                f"This file is larger than the limit of {self.limit:,} bytes.", reason="too_large"
            )
        d = self._direct
        with memoryview(d.buffers[d.current]) as whole, whole[d.fill : d.fill + n] as part:
            self._hash.update(part)
        d.fill += n
        self.size += n
        if d.fill == d.size:
            d._hand_over(d.size)

    @property
    def closed(self) -> bool:
        return self._direct is None and (self._file is None or self._file.closed)

    def close(self) -> tuple[str, int]:
        """Flush and fsync; returns (sha256, size)."""
        if self._direct is not None:
            self._direct.close()
            self._direct = None
        if self._file is not None and not self._file.closed:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
        return self._hash.hexdigest(), self.size

    def discard(self) -> None:
        if self._direct is not None:
            self._direct.abandon()
            self._direct = None
        if self._file is not None and not self._file.closed:
            self._file.close()
        self.path.unlink(missing_ok=True)


class _DirectWriter:
    """Appends to a file with O_DIRECT from two page-aligned buffers (one filling while a
    thread writes the other); the unaligned tail goes through a buffered write at close."""

    def __init__(self, fd: int, path: Path, offset: int, size: int):
        self.fd = fd
        self.path = path
        self.offset = offset
        self.buffers = [mmap.mmap(-1, size), mmap.mmap(-1, size)]
        self.current = 0
        self.fill = 0
        self.size = size
        self.pending: Future[None] | None = None
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mllab-odirect")

    @classmethod
    def open(cls, path: Path, offset: int, size: int) -> _DirectWriter | None:
        flag = getattr(os, "O_DIRECT", 0)
        if not flag:
            return None
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | flag, 0o644)
        except OSError:  # tmpfs and some file systems refuse O_DIRECT
            return None
        return cls(fd, path, offset, size)

    def write(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:
            n = min(len(view), self.size - self.fill)
            self.buffers[self.current][self.fill : self.fill + n] = view[:n]
            self.fill += n
            view = view[n:]
            if self.fill == self.size:
                self._hand_over(self.size)

    def _hand_over(self, length: int) -> None:
        self._wait()
        buffer, offset = self.buffers[self.current], self.offset
        self.pending = self.pool.submit(self._pwrite, buffer, length, offset)
        self.offset += length
        self.current ^= 1
        self.fill = 0

    def _pwrite(self, buffer: mmap.mmap, length: int, offset: int) -> None:
        view = memoryview(buffer)[:length]
        done = 0
        while done < length:
            done += os.pwrite(self.fd, view[done:], offset + done)

    def _wait(self) -> None:
        if self.pending is not None:
            self.pending.result()
            self.pending = None

    def close(self) -> None:
        aligned = self.fill - self.fill % HashingWriter.BLOCK
        tail = bytes(self.buffers[self.current][aligned : self.fill])
        if aligned:
            self._hand_over(aligned)
        self._wait()
        os.fsync(self.fd)
        os.close(self.fd)
        self.pool.shutdown()
        if tail:
            with open(self.path, "r+b") as f:
                f.seek(self.offset)
                f.write(tail)
                f.flush()
                os.fsync(f.fileno())
        for b in self.buffers:
            b.close()

    def abandon(self) -> None:
        with contextlib.suppress(Exception):
            self._wait()
        os.close(self.fd)
        self.pool.shutdown()
        for b in self.buffers:
            b.close()


class BlobStore:
    """``<root>/blobs/ab/abcdef...`` by sha256; ``<root>/tmp`` for what is still arriving."""

    def __init__(self, root: Path):
        self.root = root
        self.blob_dir = root / "blobs"
        self.tmp_dir = root / "tmp"

    def path(self, sha256: str) -> Path:
        return self.blob_dir / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    def new_temp(self, prefix: str = "") -> Path:
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        return self.tmp_dir / f"{prefix}{uuid.uuid4().hex}.part"

    def adopt(self, temp: Path, sha256: str) -> Path:
        """Move a finished temp file into place; identical content is stored once."""
        final = self.path(sha256)
        if final.exists():
            temp.unlink(missing_ok=True)
            return final
        final.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(temp, _READ_ONLY)
        os.replace(temp, final)
        _fsync_dir(final.parent)
        return final

    @contextmanager
    def lock(self, exclusive: bool = False) -> Iterator[None]:
        """Writers hold it shared from adopting blobs to committing their version; garbage
        collection holds it exclusively, so it never takes a blob about to be referenced.
        A file lock, so kernels writing to the same home take part too."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def all(self) -> set[str]:
        if not self.blob_dir.exists():
            return set()
        return {p.name for p in self.blob_dir.glob("??/*") if p.is_file()}

    def collect(self, referenced: set[str]) -> int:
        """Delete blobs no version references (caller holds the exclusive lock)."""
        removed = 0
        for sha in self.all() - referenced:
            self.path(sha).unlink(missing_ok=True)
            removed += 1
        return removed

    def clean_temp(self, older_than_s: float = 0.0, keep: set[str] | None = None) -> int:
        """Remove temp files (those of live uploads in ``keep`` stay)."""
        if not self.tmp_dir.exists():
            return 0
        now, removed = time.time(), 0
        for part in self.tmp_dir.rglob("*.part"):
            if keep and part.name in keep:
                continue
            if now - part.stat().st_mtime >= older_than_s:
                part.unlink(missing_ok=True)
                removed += 1
        return removed
