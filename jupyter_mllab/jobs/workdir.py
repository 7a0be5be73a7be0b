"""A run's working folder: the notebook's folder laid out under ``<home>/jobs/<id>/work``
(reflinks where the filesystem has them, else hard links, else symlinks), the guard that
keeps a run from writing through a link into the original, and the detection of the
files the run created or changed (its outputs).

Import-light (stdlib only): the runner uses it on the local runs worker and on a Dask
worker; the guard is source code that runs inside the kernel (any Python, even one
without jupyter_mllab)."""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FICLONE = 0x40049409  # linux/fs.h: _IOW(0x94, 9, int)
DEFAULT_INCLUDE = ["**"]
DEFAULT_EXCLUDE = [".ipynb_checkpoints/**", "__pycache__/**", "**/*.pyc"]
DEFAULT_MAX_FILE_BYTES = 100 * 2**20
DEFAULT_MAX_TOTAL_BYTES = 2 * 2**30
DEFAULT_MAX_FILES = 20_000
DEFAULT_MAX_BYTES = 50 * 2**30
SKIP_NAMES = {"__pycache__"}
# A reflink attempt that fails with one of these: the filesystem has none (ext4, tmpfs).
_NO_REFLINK = {errno.EOPNOTSUPP, errno.EXDEV, errno.EINVAL, errno.ENOTTY, errno.EBADF}


def human_bytes(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "bytes" or n == int(n) else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} TB"  # pragma: no cover


@dataclass(frozen=True)
class WorkdirLimits:
    """The lab's limits on working folders and outputs (MLLabApp traits)."""

    max_files: int = DEFAULT_MAX_FILES
    max_bytes: int = DEFAULT_MAX_BYTES
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES
    retention: float = 86400.0


@dataclass
class Layout:
    """What was laid out: ``files`` maps a relative "/" path to ``[st_ino, st_dev, size,
    mtime_ns, source size, source mtime_ns, how]`` (``how``: reflink | link | symlink) as
    the work folder's entry was right after the layout."""

    root: str
    source: str
    files: dict[str, list[Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    bytes: int = 0
    methods: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "source": self.source,
            "files": self.files,
            "warnings": self.warnings,
            "bytes": self.bytes,
            "methods": self.methods,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Layout:
        return cls(
            root=data["root"],
            source=data["source"],
            files=data.get("files") or {},
            warnings=data.get("warnings") or [],
            bytes=data.get("bytes") or 0,
            methods=data.get("methods") or {},
        )

    def save(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_json()), encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> Layout:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _reflink(src: str, dst: str) -> None:
    import fcntl

    with open(src, "rb") as fs, open(dst, "wb") as fd:
        try:
            fcntl.ioctl(fd.fileno(), FICLONE, fs.fileno())
        except OSError:
            fd.close()
            with contextlib.suppress(OSError):
                os.unlink(dst)
            raise


class _Linker:
    """One file at a time, the best way this pair of folders allows (decided once)."""

    def __init__(self, mode: str | None):
        # mode None: reflink, else hard link, else symlink; or one forced (tests, bench)
        self.reflink = mode in (None, "reflink")
        self.link = mode in (None, "link")
        self.forced = mode

    def __call__(self, src: str, dst: str) -> str:
        if self.reflink:
            try:
                _reflink(src, dst)
                return "reflink"
            except OSError as exc:
                if exc.errno not in _NO_REFLINK or self.forced:
                    raise
                self.reflink = False  # once per layout
        if self.link:
            try:
                os.link(src, dst, follow_symlinks=True)
                return "link"
            except OSError as exc:
                if self.forced:
                    raise
                if exc.errno == errno.EXDEV:
                    self.link = False  # another device: every file
                elif exc.errno not in (errno.EPERM, errno.EACCES, errno.EMLINK):
                    raise
        os.symlink(src, dst)
        return "symlink"


def lay_out(
    source: Path,
    dest: Path,
    *,
    skip: list[Path] | None = None,
    max_files: int = DEFAULT_MAX_FILES,
    max_bytes: int = DEFAULT_MAX_BYTES,
    mode: str | None = None,
) -> Layout:
    """Lay ``source`` (the notebook's folder) out in ``dest`` (created, must not exist or
    be empty). Skipped: hidden entries, ``__pycache__``, the folders in ``skip`` (the lab
    home), symlinks that leave ``source``; past ``max_files`` / ``max_bytes`` the rest is
    left out with a warning (the run still starts)."""
    src_root = os.path.realpath(source)
    dst_root = os.path.abspath(dest)
    os.makedirs(dst_root, exist_ok=True)
    layout = Layout(root=dst_root, source=src_root)
    skipped = {os.path.realpath(p) for p in (skip or [])}
    skipped.add(os.path.realpath(dst_root))
    linker = _Linker(mode)
    count = 0
    full = ""
    stack = [""]
    while stack and not full:
        rel_dir = stack.pop()
        src_dir = os.path.join(src_root, rel_dir) if rel_dir else src_root
        try:
            entries = sorted(os.scandir(src_dir), key=lambda e: e.name)
        except OSError:
            continue
        subdirs = []
        for entry in entries:
            name = entry.name
            if name.startswith(".") or name in SKIP_NAMES:
                continue
            rel = f"{rel_dir}/{name}" if rel_dir else name
            dst = os.path.join(dst_root, rel)
            try:
                if entry.is_symlink():
                    target = os.path.realpath(entry.path)
                    if not _inside(target, src_root) or any(_inside(target, s) for s in skipped):
                        continue
                    # within the folder: the same link, to the laid-out twin
                    twin = os.path.join(dst_root, os.path.relpath(target, src_root))
                    os.symlink(os.path.relpath(twin, os.path.dirname(dst)), dst)
                    continue
                if entry.is_dir(follow_symlinks=False):
                    if os.path.realpath(entry.path) in skipped:
                        continue
                    os.mkdir(dst)
                    subdirs.append(rel)
                    continue
                if not entry.is_file(follow_symlinks=False):
                    continue  # sockets, fifos, devices
                st = entry.stat(follow_symlinks=False)
                if count + 1 > max_files:
                    full = (
                        f"The notebook's folder has more than {max_files} files: the rest "
                        f"was not laid out in the run's working folder "
                        f"(MLLabApp.workdir_max_files)."
                    )
                    break
                if layout.bytes + st.st_size > max_bytes:
                    full = (
                        f"The notebook's folder holds more than {human_bytes(max_bytes)}: "
                        f"'{rel}' and the rest were not laid out in the run's working "
                        f"folder (MLLabApp.workdir_max_bytes)."
                    )
                    break
                how = linker(entry.path, dst)
                dt = os.lstat(dst)
                layout.files[rel] = [
                    dt.st_ino,
                    dt.st_dev,
                    dt.st_size,
                    dt.st_mtime_ns,
                    st.st_size,
                    st.st_mtime_ns,
                    how,
                ]
                layout.methods[how] = layout.methods.get(how, 0) + 1
                layout.bytes += st.st_size
                count += 1
            except OSError as exc:
                layout.warnings.append(f"'{rel}' was not laid out: {exc.strerror or exc}.")
        stack.extend(reversed(subdirs))
    if full:
        layout.warnings.append(full)
    return layout


# -- outputs ------------------------------------------------------------------------------


def matches(path: str, pattern: str) -> bool:
    """fnmatch on the relative "/" path (``*`` also crosses "/"); a pattern starting with
    ``**/`` also matches at the top (``**/*.pyc`` matches ``a.pyc``)."""
    if fnmatch.fnmatchcase(path, pattern):
        return True
    return pattern.startswith("**/") and fnmatch.fnmatchcase(path, pattern[3:])


@dataclass
class OutputRules:
    include: list[str] = field(default_factory=lambda: list(DEFAULT_INCLUDE))
    exclude: list[str] = field(default_factory=lambda: list(DEFAULT_EXCLUDE))
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES

    @classmethod
    def from_spec(cls, outputs: dict[str, Any] | None, max_total_bytes: int) -> OutputRules:
        outputs = outputs or {}
        return cls(
            include=list(outputs.get("include") or DEFAULT_INCLUDE),
            exclude=list(
                outputs["exclude"] if outputs.get("exclude") is not None else DEFAULT_EXCLUDE
            ),
            max_file_bytes=int(outputs.get("max_file_bytes") or DEFAULT_MAX_FILE_BYTES),
            max_total_bytes=max_total_bytes,
        )

    def wanted(self, path: str) -> bool:
        return any(matches(path, p) for p in self.include) and not any(
            matches(path, p) for p in self.exclude
        )


def changed_files(layout: Layout) -> list[tuple[str, int]]:
    """``[(relative path, size)]`` of the regular files in the work folder that the run
    created or changed: not in the layout's index, or another inode, size or mtime."""
    root = layout.root
    found: list[tuple[str, int]] = []
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        try:
            entries = list(os.scandir(os.path.join(root, rel_dir) if rel_dir else root))
        except OSError:
            continue
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(rel)
                    continue
                if not entry.is_file(follow_symlinks=False):
                    continue  # symlinks (laid out or made by the run), fifos
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            known = layout.files.get(rel)
            if known and (st.st_ino, st.st_size, st.st_mtime_ns) == (
                known[0],
                known[2],
                known[3],
            ):
                continue
            found.append((rel, st.st_size))
    return sorted(found)


def changed_inputs(layout: Layout) -> list[str]:
    """Warnings for originals whose size or mtime changed during the run (a writer the
    guard does not see: a subprocess, a C library, mmap)."""
    warnings = []
    for rel, entry in layout.files.items():
        try:
            st = os.stat(os.path.join(layout.source, rel))
        except OSError:
            continue
        if (st.st_size, st.st_mtime_ns) != (entry[4], entry[5]):
            warnings.append(
                f"'{rel}' in the notebook's folder changed during the run (written by "
                "something the run's guard does not see: a subprocess or a non-Python "
                "writer)."
            )
    return warnings


def select_outputs(files: list[tuple[str, int]], rules: OutputRules) -> list[dict[str, Any]]:
    """The manifest's ``files``: each wanted file, saved unless over a cap."""
    out: list[dict[str, Any]] = []
    total = 0
    for rel, size in files:
        if not rules.wanted(rel):
            continue
        item: dict[str, Any] = {"path": rel, "size": size, "saved": True}
        if size > rules.max_file_bytes:
            cap = human_bytes(rules.max_file_bytes)
            item.update(saved=False, reason=f"over the size cap of {cap}")
        elif total + size > rules.max_total_bytes:
            item.update(
                saved=False,
                reason=f"over the run's total cap of {human_bytes(rules.max_total_bytes)}",
            )
        else:
            total += size
        out.append(item)
    return out


def stage(root: Path, files: list[dict[str, Any]], dest: Path) -> None:
    """Hard links (else copies) of the saved files under ``dest``, for one upload."""
    for item in files:
        if not item["saved"]:
            continue
        src = root / item["path"]
        dst = dest / item["path"]
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)


def remove_tree(path: Path) -> None:
    """Remove a work folder (its files are links or the run's own: never the originals)."""
    if path.is_symlink():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path, ignore_errors=True)


# -- the guard, run in the kernel before the first cell -------------------------------------

GUARD_SOURCE = r"""
def __mllab_guard(root, index_path):
    import os, shutil, stat, sys, threading
    roots = []
    for r in (os.path.abspath(root), os.path.realpath(root)):
        if r + os.sep not in roots:
            roots.append(r + os.sep)
    if index_path:
        import json
        with open(index_path, encoding="utf-8") as f:
            files = json.load(f)["files"]
        linked = {(e[0], e[1]) for e in files.values() if e[6] == "link"}
    else:
        linked = set()
    WRITE = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_TRUNC
    TRUNC_CREATE = os.O_TRUNC | os.O_CREAT
    local = threading.local()

    def private(path, fresh):
        # fresh: the open truncates and creates ("w"): unlinking is enough, no copy
        path = os.path.abspath(path)
        if not any(path.startswith(r) for r in roots):
            head, tail = os.path.split(path)
            path = os.path.join(os.path.realpath(head), tail)
            if not any(path.startswith(r) for r in roots):
                return
        try:
            st = os.lstat(path)
        except OSError:
            return
        if stat.S_ISLNK(st.st_mode):
            real = os.path.realpath(path)
            if any(real.startswith(r) for r in roots):
                return private(real, fresh)  # a link within the folder: its target
        elif not (st.st_nlink > 1 and (st.st_ino, st.st_dev) in linked):
            return
        if fresh:
            os.unlink(path)
            return
        head, tail = os.path.split(path)
        tmp = os.path.join(head, ".~" + tail + ".mllab-copy")
        shutil.copyfile(path, tmp)
        os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
        os.replace(tmp, path)

    def hook(event, args, watched=frozenset(("open", "os.truncate", "os.chmod"))):
        # every audited event of the kernel comes here: return at once for the others
        if event not in watched:
            return
        fresh = False
        if event == "open":
            path, mode, flags = args
            if isinstance(mode, str):
                if not ("w" in mode or "a" in mode or "+" in mode):
                    return
                fresh = "w" in mode
            elif not flags & WRITE:
                return
            else:
                fresh = flags & TRUNC_CREATE == TRUNC_CREATE
        else:
            path = args[0]
        if isinstance(path, int) or getattr(local, "busy", False):
            return
        local.busy = True
        try:
            private(os.fsdecode(path), fresh)
        except Exception:
            pass
        finally:
            local.busy = False

    sys.addaudithook(hook)
"""


def guard_code(root: str, index_path: str | None) -> str:
    """Python source that installs the copy-on-write guard in a kernel: a write-open,
    truncate or chmod of a laid-out hard link or symlink first replaces it by a private
    copy (the original is never written through)."""
    return (
        GUARD_SOURCE
        + f"__mllab_guard({json.dumps(root)}, {json.dumps(index_path)})\n"
        + "del __mllab_guard\n"
    )
