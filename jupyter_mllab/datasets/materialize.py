"""A version as a local, read-only path (hard links into the blob store where possible)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import uuid
from pathlib import Path

from .store import DatasetStore, Version


def _link(src: Path, dest: Path) -> None:
    try:
        os.link(src, dest)
    except OSError:  # another file system, or links not allowed
        shutil.copyfile(src, dest)
        os.chmod(dest, 0o444)


def materialize(store: DatasetStore, version: Version) -> Path:
    """The file (file versions) or folder (folder versions) of a version, cached by content."""
    project = store.projects.get(version.project)
    blobs = store.blobs(project)
    root = store.cache_dir() / "files"
    if version.kind == "file":
        ident = hashlib.sha256(f"{version.sha256}/{version.filename}".encode()).hexdigest()[:32]
    else:
        ident = version.sha256
    target = root / ident
    result = target / version.filename if version.kind == "file" else target
    if result.exists():
        return result
    building = root / f".building-{uuid.uuid4().hex}"
    building.mkdir(parents=True)
    try:
        for entry in store.files(version):
            dest = (building / entry.path).resolve()
            if building.resolve() not in dest.parents:
                raise ValueError(f"unsafe path in manifest: {entry.path!r}")
            dest.parent.mkdir(parents=True, exist_ok=True)
            _link(blobs.path(entry.sha256), dest)
        for folder in sorted(building.rglob("*"), reverse=True):
            if folder.is_dir():
                os.chmod(folder, 0o555)
        with contextlib.suppress(OSError):  # another process may have built it first
            os.rename(building, target)
    finally:
        if building.exists():
            for folder in building.rglob("*"):
                if folder.is_dir():
                    os.chmod(folder, 0o755)
            os.chmod(building, 0o755)
            shutil.rmtree(building, ignore_errors=True)
    return result
