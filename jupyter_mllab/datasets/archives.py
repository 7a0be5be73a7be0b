"""Safe extraction of zip and tar archives into blobs, checked while streaming.

Member names never become paths here: each entry streams into a temp file of the blob
store and is named by its sha256. Names are still validated (a dataset's manifest is
materialised as a folder later), and links, devices, and bombs are refused.
"""

from __future__ import annotations

import re
import stat
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from ..errors import BadRequest, PayloadTooLarge
from .blobs import BlobStore, HashingWriter, Staged

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")
_DRIVE = re.compile(r"^[A-Za-z]:")
MAX_PATH = 1024
# The stdlib's tar reader holds a PAX or GNU long-name header's whole body in memory (and
# recurses once per chained header): these caps are checked before it reads a byte of one.
# Real headers hold a path, a link target and a few attributes: far under 64 KiB.
MAX_HEADER_BYTES = 64 << 10
MAX_CHAINED_HEADERS = 8
_EXTENSION_TYPES = (
    tarfile.XHDTYPE,
    tarfile.XGLTYPE,
    tarfile.SOLARIS_XHDTYPE,
    tarfile.GNUTYPE_LONGNAME,
    tarfile.GNUTYPE_LONGLINK,
)


@dataclass(frozen=True)
class ArchiveLimits:
    max_entries: int = 100_000
    max_total_bytes: int = 50 * 2**30
    max_ratio: float = 200.0  # uncompressed / compressed, per archive


def is_archive(filename: str) -> bool:
    return filename.lower().endswith(ARCHIVE_SUFFIXES)


def safe_member_path(name: str) -> str:
    """A relative POSIX path inside the dataset, or 400 for anything that could escape."""
    if "\x00" in name:
        raise BadRequest(f"Archive entry {name!r} has a NUL in its name.", reason="unsafe_archive")
    if "\\" in name:
        raise BadRequest(
            f"Archive entry {name!r} uses backslashes; refusing it.", reason="unsafe_archive"
        )
    if name.startswith("/") or _DRIVE.match(name):
        raise BadRequest(
            f"Archive entry {name!r} has an absolute path; refusing it.", reason="unsafe_archive"
        )
    parts = [p for p in PurePosixPath(name).parts if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise BadRequest(
            f"Archive entry {name!r} points outside the archive ('..'); refusing it.",
            reason="unsafe_archive",
        )
    path = "/".join(parts)
    if not path or len(path) > MAX_PATH:
        raise BadRequest(f"Archive entry {name!r} has no usable name.", reason="unsafe_archive")
    return path


class _Budget:
    """Counts what comes out of an archive against its caps, while it streams."""

    def __init__(self, archive_size: int, limits: ArchiveLimits):
        self.limits = limits
        self.cap = min(limits.max_total_bytes, int(max(archive_size, 1) * limits.max_ratio))
        self.total = 0
        self.entries = 0
        self.chained = 0  # extension headers in front of the member being read

    def entry(self) -> None:
        self.entries += 1
        if self.entries > self.limits.max_entries:
            raise PayloadTooLarge(
                f"The archive has more than {self.limits.max_entries:,} entries.",
                reason="archive_too_large",
            )

    def bytes(self, n: int) -> None:
        self.total += n
        if self.total > self.cap:
            raise PayloadTooLarge(
                "The archive expands beyond its limit "
                f"({self.cap:,} bytes: at most {self.limits.max_ratio:g}x its size and "
                f"{self.limits.max_total_bytes:,} bytes in all); refusing it as a possible bomb.",
                reason="archive_too_large",
            )

    def header(self, kind: object, size: int) -> None:
        """A tar header block and the body of an extension header, before either is read."""
        if kind == tarfile.GNUTYPE_SPARSE:  # its map of extension blocks is read unbounded
            raise BadRequest(
                "The archive holds a GNU sparse file; sparse files are not supported.",
                reason="unsafe_archive",
            )
        if kind not in _EXTENSION_TYPES:
            self.chained = 0
            self.bytes(tarfile.BLOCKSIZE)
            return
        self.chained += 1
        if self.chained > MAX_CHAINED_HEADERS:
            raise BadRequest(
                f"A tar member has more than {MAX_CHAINED_HEADERS} extended headers; "
                "refusing the archive.",
                reason="unsafe_archive",
            )
        if size > MAX_HEADER_BYTES:
            raise BadRequest(
                f"A tar member carries a {size:,}-byte extended header (PAX or GNU long name); "
                f"at most {MAX_HEADER_BYTES:,} bytes are accepted. Refusing the archive.",
                reason="unsafe_archive",
            )
        self.bytes(tarfile.BLOCKSIZE + size)


def _capped_tarinfo(budget: _Budget) -> type[tarfile.TarInfo]:
    """A TarInfo that counts every header against ``budget`` before the stdlib reads it."""

    class CappedTarInfo(tarfile.TarInfo):
        def _proc_member(self, tarfile: tarfile.TarFile) -> tarfile.TarInfo:
            budget.header(self.type, self.size)
            return super()._proc_member(tarfile)  # type: ignore[misc]

    return CappedTarInfo


def _open_tar(archive: Path, budget: _Budget) -> tarfile.TarFile:
    try:
        return tarfile.open(archive, mode="r|*", tarinfo=_capped_tarinfo(budget))
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BadRequest(f"This is not a readable tar file: {exc}", reason="bad_archive") from None


def _members(tf: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    """A stream's members one at a time; the stdlib would keep every one in ``tf.members``."""
    while (member := tf.next()) is not None:
        tf.members.clear()  # type: ignore[attr-defined]
        yield member


def _copy(src: IO[bytes], writer: HashingWriter, budget: _Budget) -> None:
    while block := src.read(1 << 20):
        budget.bytes(len(block))
        writer.write(block)


def extract(archive: Path, filename: str, blobs: BlobStore, limits: ArchiveLimits) -> list[Staged]:
    """Stream every regular file of the archive into temp files (caller adopts or discards)."""
    budget = _Budget(archive.stat().st_size, limits)
    out: list[Staged] = []
    seen: set[str] = set()

    def add(name: str, src: IO[bytes]) -> None:
        path = safe_member_path(name)
        if path in seen:
            raise BadRequest(
                f"Archive entry {path!r} appears twice; refusing it.", reason="unsafe_archive"
            )
        seen.add(path)
        writer = HashingWriter(blobs.new_temp("x-"))
        try:
            _copy(src, writer, budget)
            sha, size = writer.close()
        except BaseException:
            writer.discard()
            raise
        out.append(Staged(path, sha, size, writer.path))

    try:
        if filename.lower().endswith(".zip"):
            _extract_zip(archive, budget, add)
        else:
            _extract_tar(archive, budget, add)
    except BaseException:
        for f in out:
            if f.temp:
                f.temp.unlink(missing_ok=True)
        raise
    if not out:
        raise BadRequest("The archive holds no files.", reason="empty_archive")
    return out


def _extract_zip(archive: Path, budget: _Budget, add: object) -> None:
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as exc:
        raise BadRequest(f"This is not a readable zip file: {exc}", reason="bad_archive") from None
    with zf:
        for info in zf.infolist():
            budget.entry()
            mode = info.external_attr >> 16
            if info.is_dir():
                safe_member_path(info.filename)
                continue
            if stat.S_IFMT(mode) and not stat.S_ISREG(mode):  # Unix type bits, when present
                kind = "a symbolic link" if stat.S_ISLNK(mode) else "not a regular file"
                raise BadRequest(
                    f"Archive entry {info.filename!r} is {kind}; refusing it.",
                    reason="unsafe_archive",
                )
            try:
                with zf.open(info) as src:
                    add(info.filename, src)  # type: ignore[operator]
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError) as exc:
                raise BadRequest(
                    f"Archive entry {info.filename!r} cannot be read: {exc}", reason="bad_archive"
                ) from None


def _extract_tar(archive: Path, budget: _Budget, add: object) -> None:
    with _open_tar(archive, budget) as tf:  # streaming: one pass, no seeking
        try:
            for member in _members(tf):
                budget.entry()
                if member.isdir():
                    safe_member_path(member.name)
                    continue
                if member.issym() or member.islnk():
                    raise BadRequest(
                        f"Archive entry {member.name!r} is a link; refusing it.",
                        reason="unsafe_archive",
                    )
                if not member.isfile():
                    raise BadRequest(
                        f"Archive entry {member.name!r} is a device or special file; refusing it.",
                        reason="unsafe_archive",
                    )
                src = tf.extractfile(member)
                if src is None:
                    continue
                add(member.name, src)  # type: ignore[operator]
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise BadRequest(f"The tar archive is damaged: {exc}", reason="bad_archive") from None


def list_members(
    archive: Path, filename: str, limit: int = 1000, limits: ArchiveLimits | None = None
) -> dict[str, object]:
    """The entries of an archive, for a preview (nothing is extracted).

    A damaged archive is a 400; a tar's headers are capped as on extract, and listing stops
    (``truncated``) where reading on would expand the archive beyond its budget.
    """
    budget = _Budget(archive.stat().st_size, limits or ArchiveLimits())
    rows: list[dict[str, object]] = []
    truncated = False
    if filename.lower().endswith(".zip"):
        try:
            with zipfile.ZipFile(archive) as zf:
                infos = zf.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
            raise BadRequest(
                f"This is not a readable zip file: {exc}", reason="bad_archive"
            ) from None
        for info in infos[:limit]:
            rows.append({"path": info.filename, "size": info.file_size, "dir": info.is_dir()})
        return {"files": rows, "truncated": len(infos) > limit}
    with _open_tar(archive, budget) as tf:
        try:
            for member in _members(tf):
                if len(rows) >= limit:
                    truncated = True
                    break
                path = member.name if len(member.name) <= MAX_PATH else member.name[:MAX_PATH] + "…"
                rows.append({"path": path, "size": member.size, "dir": member.isdir()})
                if member.offset_data + member.size > budget.cap:
                    truncated = True  # the next header lies beyond what we decompress
                    break
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise BadRequest(f"The tar archive is damaged: {exc}", reason="bad_archive") from None
    return {"files": rows, "truncated": truncated}
