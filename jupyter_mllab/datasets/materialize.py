"""A version as a local, read-only path: a copy of its blobs that cannot write through.

Cached files are never hard links to the stored blobs (a ``chmod u+w`` and a write in a
kernel would change stored history): each is a reflink (copy-on-write clone) where the
file system offers one, a plain copy otherwise. A kernel can still change its own copy,
so every entry keeps a stamp of what it built (inode, size, mtime and ctime of each file
and folder: a write or chmod moves ctime, which no user can set back); an entry that no
longer matches its stamp is set aside and built again from the blobs.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path

from .store import DatasetStore, Version

FICLONE = 0x40049409  # linux/fs.h: _IOW(0x94, 9, int)
STAMP = "stamp.json"


def _clone(src: Path, dest: Path) -> None:
    """A copy-on-write clone of ``src`` where the file system can, else a copy."""
    with open(src, "rb") as fin, open(dest, "wb") as fout:
        try:
            fcntl.ioctl(fout.fileno(), FICLONE, fin.fileno())
        except OSError:  # ext4, tmpfs, another file system: no reflinks
            shutil.copyfileobj(fin, fout, 8 << 20)
    os.chmod(dest, 0o444)


def _stamp(data: Path) -> dict[str, list[int]]:
    out = {}
    for path in [data, *sorted(data.rglob("*"))]:
        st = os.lstat(path)
        rel = path.relative_to(data).as_posix()
        out[rel] = [st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_mode]
    return out


def _intact(target: Path) -> bool:
    try:
        recorded = json.loads((target / STAMP).read_text())
        return bool(recorded == _stamp(target / "data"))
    except (OSError, ValueError):
        return False


def _remove(path: Path) -> None:
    """Delete a cache entry whose folders are read-only (open files live on)."""
    with contextlib.suppress(OSError):
        os.chmod(path, 0o755)
    for folder in path.rglob("*"):
        if folder.is_dir() and not folder.is_symlink():
            with contextlib.suppress(OSError):
                os.chmod(folder, 0o755)
    shutil.rmtree(path, ignore_errors=True)


def _set_aside(root: Path, target: Path) -> None:
    stale = root / f".stale-{uuid.uuid4().hex}"
    try:
        os.rename(target, stale)
    except OSError:  # another process set it aside first
        return
    _remove(stale)


def retire_linked_cache(store: DatasetStore) -> None:
    """Remove the cache of earlier releases, whose files were hard links to the blobs."""
    old = store.cache_dir() / "files"
    if old.exists():
        _remove(old)


def materialize(store: DatasetStore, version: Version) -> Path:
    """The file (file versions) or folder (folder versions) of a version, cached by content."""
    project = store.projects.get(version.project)
    blobs = store.blobs(project)
    root = store.cache_dir() / "copies"
    if version.kind == "file":
        ident = hashlib.sha256(f"{version.sha256}/{version.filename}".encode()).hexdigest()[:32]
    else:
        ident = version.sha256
    target = root / ident
    data = target / "data"
    result = data / version.filename if version.kind == "file" else data
    if target.exists():
        if _intact(target):
            return result
        _set_aside(root, target)
    building = root / f".building-{uuid.uuid4().hex}"
    (building / "data").mkdir(parents=True)
    try:
        inside = (building / "data").resolve()
        for entry in store.files(version):
            dest = (inside / entry.path).resolve()
            if inside not in dest.parents:
                raise ValueError(f"unsafe path in manifest: {entry.path!r}")
            dest.parent.mkdir(parents=True, exist_ok=True)
            _clone(blobs.path(entry.sha256), dest)
        for folder in sorted((building / "data").rglob("*"), reverse=True):
            if folder.is_dir():
                os.chmod(folder, 0o555)
        os.chmod(building / "data", 0o555)
        (building / STAMP).write_text(json.dumps(_stamp(building / "data")))
        with contextlib.suppress(OSError):  # another process may have built it first
            os.rename(building, target)
    finally:
        if building.exists():
            _remove(building)
    return result
