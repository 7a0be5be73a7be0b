"""The output notebook, written whole: a papermill I/O handler that writes atomically.

The output route serves ``output.ipynb`` while its run still writes it (papermill saves
at cell boundaries, on autosave and at the end). papermill's local handler opens the path
with ``"w"`` and writes: a reader in between gets an empty or half notebook. This handler
writes a temporary file in the same folder, fsyncs it and ``os.replace``s it over the
path, so a reader sees the previous whole notebook or the new one, never part of one.

papermill picks a handler by the path's prefix (its "scheme"), so the handler is
registered for the folder the lab's jobs write into; other paths keep papermill's own.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from typing import Any

_REGISTERED: set[str] = set()
_LOCK = threading.Lock()


def write_atomically(text: str, path: str) -> None:
    """``text`` at ``path``, replacing it in one step (temp file + fsync + os.replace)."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):  # as papermill's local handler says it
        raise FileNotFoundError(f"output folder {folder} doesn't exist.")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; papermill's files are 0644 (umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class AtomicLocalHandler:
    """papermill's local I/O handler, with writes made atomic."""

    def __init__(self) -> None:
        from papermill.iorw import LocalHandler

        self._local = LocalHandler()

    def read(self, path: str) -> Any:
        return self._local.read(path)

    def listdir(self, path: str) -> Any:
        return self._local.listdir(path)

    def pretty_path(self, path: str) -> str:
        return str(self._local.pretty_path(path))

    def write(self, buf: str, path: str) -> None:
        write_atomically(buf, path)


def register_atomic_folder(folder: str) -> None:
    """Have papermill write every notebook under ``folder`` through ``AtomicLocalHandler``
    (once per folder and process; papermill's registry is process-wide)."""
    prefix = os.path.join(os.path.abspath(folder), "")
    with _LOCK:
        if prefix in _REGISTERED:
            return
        from papermill.iorw import papermill_io

        papermill_io.register(prefix, AtomicLocalHandler())
        _REGISTERED.add(prefix)
