"""Add a version from a local file, folder or archive (the kernel client's upload, and the
server's "Upload as dataset" of a file in the Jupyter root)."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import BadRequest, Conflict
from ..projects.store import Project
from .archives import ArchiveLimits, extract, is_archive
from .blobs import BlobStore, HashingWriter, Staged
from .store import DatasetStore, NewVersion, Version, check_meta


@dataclass(frozen=True)
class Origin:
    """Where a version comes from: the run (and job) that made it, the versions it was
    derived from (exact keys)."""

    source_run_id: str | None = None
    source_job_id: str | None = None
    derived_from: tuple[str, ...] = ()


def stage_file(blobs: BlobStore, source: Path, rel: str) -> Staged:
    writer = HashingWriter(blobs.new_temp())
    try:
        with open(source, "rb") as f:
            while block := f.read(4 << 20):
                writer.write(block)
        sha, size = writer.close()
    except BaseException:
        writer.discard()
        raise
    return Staged(rel, sha, size, writer.path)


def _hidden(rel: Path) -> bool:
    """A dot name anywhere in the path (Jupyter's rule; its OS hidden flag aside)."""
    return any(part.startswith(".") for part in rel.parts)


def default_name(source: Path) -> str:
    return source.name.split(".")[0] or "dataset"


def ingest_path(
    store: DatasetStore,
    project: Project,
    source: Path,
    *,
    name: str | None = None,
    description: str = "",
    tags: list[str] | tuple[str, ...] = (),
    extract_archive: bool = False,
    author: str = "",
    limits: ArchiveLimits | None = None,
    sha256: str | None = None,
    skip_hidden: bool = False,
    origin: Origin | None = None,
) -> Version:
    """A file becomes a file version; a folder a folder version (regular files only: links
    are skipped, and hidden ones with ``skip_hidden``); an archive with ``extract_archive``
    a folder version of its entries. With ``sha256`` (a single file, or the archive), the
    bytes read must have that digest: otherwise nothing is stored. ``origin``: the run
    that made it and the versions it was derived from."""
    if sha256 is not None and source.is_dir():
        raise BadRequest("sha256= checks a single file, not a folder.", reason="bad_sha256")
    blobs = store.blobs(project)
    description, clean_tags = check_meta(description, list(tags))
    dataset = name or default_name(source)
    lineage = asdict(origin or Origin())
    meta = NewVersion(
        filename=source.name, description=description, tags=clean_tags, author=author, **lineage
    )
    if source.is_dir():
        files = [
            stage_file(blobs, p, p.relative_to(source).as_posix())
            for p in sorted(source.rglob("*"))
            if p.is_file()
            and not p.is_symlink()
            and not (skip_hidden and _hidden(p.relative_to(source)))
        ]
        if not files:
            raise BadRequest(f"The folder {source.name} has no files.", reason="empty_folder")
        return store.add_version(project, dataset, meta, files=files)
    if extract_archive:
        if not is_archive(source.name):
            raise BadRequest(
                f"{source.name} is not a zip, tar, tar.gz or tgz file.", reason="not_archive"
            )
        if sha256 is not None:
            _check(Staged(source.name, _sha256_of(source), source.stat().st_size), sha256)
        files = extract(source, source.name, blobs, limits or ArchiveLimits())
        meta = NewVersion(
            filename=dataset,
            description=description,
            tags=clean_tags,
            author=author,
            source=f"extracted from {source.name}",
            **lineage,
        )
        return store.add_version(project, dataset, meta, files=files)
    staged = stage_file(blobs, source, source.name)
    if sha256 is not None:
        _check(staged, sha256)
    return store.add_version(project, dataset, meta, blob=staged)


def _sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(4 << 20):
            h.update(block)
    return h.hexdigest()


def _check(staged: Staged, sha256: str) -> Staged:
    if staged.sha256 != sha256.lower():
        if staged.temp is not None:
            staged.temp.unlink(missing_ok=True)
        raise Conflict(
            f"{staged.path} has sha256 {staged.sha256}, not the {sha256} it was expected to "
            "have; nothing was stored.",
            reason="sha256_mismatch",
        )
    return staged
