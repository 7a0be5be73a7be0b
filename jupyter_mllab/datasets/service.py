"""Datasets as the server sees them: every method runs its blocking work in a thread."""

from __future__ import annotations

import logging
import multiprocessing
import threading
from collections import Counter
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._threads import run_sync
from ..errors import BadRequest, MLLabError, NotFound
from ..projects.store import Project, ProjectStore
from .archives import ArchiveLimits, extract, is_archive
from .blobs import HashingWriter
from .ingest import ingest_path
from .materialize import retire_linked_cache
from .preview import kind_of, preview_file, preview_image
from .stats import StatsCache, compute_stats
from .store import DatasetStore, NewVersion, Version
from .uploads import UploadManager, check_digests

if TYPE_CHECKING:
    from ..templates import Template

log = logging.getLogger(__name__)

STATS_MEMORY = 2 * 2**30  # the statistics worker's data segment (RLIMIT_DATA)
WORKER_RETRIES = 1  # a job whose worker died is tried once more, then reported failed


def resolve_inside(root: Path, rel: object) -> Path:
    """``root / rel``, refusing anything that resolves outside the root (links included)."""
    if not isinstance(rel, str) or not rel.strip() or "\x00" in rel:
        raise BadRequest(
            "Give the path of a file or folder in the Jupyter root.", reason="bad_path"
        )
    base = root.resolve()
    target = (base / rel.lstrip("/")).resolve()
    if target != base and base not in target.parents:
        raise BadRequest(f"'{rel}' is outside the Jupyter root.", reason="outside_root")
    return target


def check_readable(root: Path, source: Path, rel: str, lab_home: Path, allow_hidden: bool) -> None:
    """Jupyter's hidden-file rule (``ContentsManager.allow_hidden``) and the lab's own home,
    which is never read this way (its databases, everyone's datasets), whatever the rule."""
    from jupyter_core.paths import is_hidden

    home = lab_home.resolve()
    if source == home or home in source.parents or source in home.parents:
        raise MLLabError(
            f"'{rel}' is the lab's own data (or holds it): it cannot be imported.",
            reason="lab_home",
            status=403,
        )
    if (
        not allow_hidden
        and source != root.resolve()
        and is_hidden(str(source), str(root.resolve()))
    ):
        raise MLLabError(
            f"'{rel}' is a hidden file or folder, which this server does not serve "
            "(ContentsManager.allow_hidden).",
            reason="hidden_path",
            status=403,
        )


def parse_version(text: str) -> int | None:
    if text == "latest":
        return None
    if text.isdigit() and int(text) >= 1:
        return int(text)
    raise BadRequest(f"'{text}' is not a version: use a number or 'latest'.", reason="bad_version")


class DatasetService:
    def __init__(
        self,
        projects: ProjectStore,
        max_upload_size: int,
        limits: ArchiveLimits,
        stats_memory: int = STATS_MEMORY,
    ):
        self.projects = projects
        self.store = DatasetStore(projects)
        self.limits = limits
        self.uploads = UploadManager(self.store, max_upload_size, limits)
        self.cache = StatsCache(self.store.cache_dir())
        # Row counts and statistics read whole files: they run in one worker process, so
        # they neither hold this server's GIL nor take both cores. Started on first use,
        # with a memory limit, and started again when its worker dies (killed, or OOM).
        self.stats_memory = stats_memory
        self._background: ProcessPoolExecutor | None = None
        self._jobs: dict[tuple[str, str], Future[Any]] = {}
        self._deaths: Counter[tuple[str, str]] = Counter()
        self._pool_lock = threading.Lock()
        # One image decode at a time (each is bounded): parallel previews wait, then hit the cache.
        self._decode_lock = threading.Lock()

    def startup(self) -> None:
        retire_linked_cache(self.store)
        for project in self.projects.list():
            try:
                removed = self.uploads.cleanup(project)
                removed += self.store.collect_garbage(project)
                if removed:
                    log.info("Datasets of %r: cleaned %d leftover files", project.name, removed)
            except OSError:
                log.exception("Cleaning the datasets of %r failed", project.name)

    def shutdown(self) -> None:
        if self._background is not None:
            self._background.shutdown(wait=False, cancel_futures=True)

    def _project(self, name: str) -> Project:
        return self.projects.get(name)

    # -- reading -------------------------------------------------------------------------
    async def list_datasets(self, project: str, search: str = "") -> dict[str, Any]:
        def work() -> dict[str, Any]:
            return {"datasets": self.store.list_datasets(self._project(project), search)}

        return await run_sync(work)

    async def get(self, project: str, name: str) -> dict[str, Any]:
        def work() -> dict[str, Any]:
            versions = self.store.versions(self._project(project), name)
            return {"name": versions[0].name, "versions": [v.to_json() for v in versions]}

        return await run_sync(work)

    def _version(self, project: str, name: str, version: str) -> Version:
        return self.store.get(self._project(project), name, parse_version(version))

    async def version(self, project: str, name: str, version: str) -> dict[str, Any]:
        def work() -> dict[str, Any]:
            v = self._version(project, name, version)
            files = [f.__dict__ for f in self.store.files(v, limit=1000)]
            return {**v.to_json(), "files": files}

        return await run_sync(work)

    async def fitting(self, project: str, templates: list[Template]) -> dict[str, list[str]]:
        """Template id -> the keys of the project's latest versions that fit it, newest
        first (each candidate's header read once, only for media types a slot takes)."""
        from . import fitting

        def work() -> dict[str, list[str]]:
            versions = fitting.latest_versions(
                self.store, self._project(project), fitting.slot_media_types(templates)
            )
            return {t.id: fitting.fitting_keys(t, versions) for t in templates}

        return await run_sync(work)

    async def pick_for_template(
        self, project: str, template: Template, dataset: str | None
    ) -> str | None:
        """The key to fill into a new notebook from ``template`` (``fitting.pick_dataset``)."""
        from .fitting import pick_dataset

        return await run_sync(
            lambda: pick_dataset(self.store, self._project(project), template, dataset)
        )

    async def resolve(self, key: str, default_project: str) -> dict[str, Any]:
        from .keys import parse_key

        return await run_sync(lambda: self.store.resolve(parse_key(key, default_project)).to_json())

    async def file(
        self, project: str, name: str, version: str, path: str | None
    ) -> tuple[Version, Path, str, int]:
        """(version, blob path, file name, size) of a file version or one file of a folder."""

        def work() -> tuple[Version, Path, str, int]:
            v = self._version(project, name, version)
            blob, entry = self.store.blob_path(v, path)
            return v, blob, entry.path.rsplit("/", 1)[-1], entry.size

        return await run_sync(work)

    async def manifest(
        self, project: str, name: str, version: str
    ) -> tuple[Version, list[tuple[str, Path]]]:
        def work() -> tuple[Version, list[tuple[str, Path]]]:
            v = self._version(project, name, version)
            blobs = self.store.blobs(self._project(project))
            return v, [(e.path, blobs.path(e.sha256)) for e in self.store.files(v)]

        return await run_sync(work)

    async def preview(
        self, project: str, name: str, version: str, path: str | None, rows: int = 50
    ) -> dict[str, Any]:
        def work() -> dict[str, Any]:
            v = self._version(project, name, version)
            if v.kind == "folder" and not path:
                files = self.store.files(v, limit=500)
                return {
                    "kind": "folder",
                    "key": v.key,
                    "file_count": v.file_count,
                    "size": v.size,
                    "files": [{"path": f.path, "size": f.size} for f in files],
                }
            blob, entry = self.store.blob_path(v, path)
            filename = entry.path.rsplit("/", 1)[-1]
            from .store import guess_media_type

            media = v.media_type if v.kind == "file" else guess_media_type(filename)
            out = preview_file(
                blob, filename, media, rows, image=lambda p: self._thumbnail(entry.sha256, p)
            )
            out["key"] = v.key
            if out.get("kind") == "csv" and out.get("total_rows") is None:
                cached = self.cache.get(entry.sha256, "rows")
                if cached is not None:
                    out["total_rows"] = cached["rows"]
                else:
                    try:
                        self._submit(
                            ("rows", entry.sha256), _count_rows, self.cache.root, entry.sha256, blob
                        )
                    except Exception:  # the row count is extra: the preview answers anyway
                        log.exception("Counting the rows of %s failed", entry.sha256)
            return out

        return await run_sync(work)

    def _thumbnail(self, sha256: str, blob: Path) -> dict[str, Any]:
        """An image's preview, decoded once per content and cached by its sha256."""
        cached = self.cache.get(sha256, "thumbnails")
        if cached is not None:
            return cached
        with self._decode_lock:
            cached = self.cache.get(sha256, "thumbnails")
            if cached is None:
                cached = preview_image(blob)
                if "thumbnail" in cached:  # an unreadable image is said again, not cached
                    self.cache.put(sha256, cached, "thumbnails")
        return cached

    async def stats(
        self, project: str, name: str, version: str, path: str | None
    ) -> dict[str, Any]:
        def work() -> dict[str, Any]:
            v = self._version(project, name, version)
            blob, entry = self.store.blob_path(v, path)
            filename = entry.path.rsplit("/", 1)[-1]
            if kind_of(filename, v.media_type) not in ("csv", "parquet", "jsonl"):
                return {"status": "unsupported", "message": "Statistics are for tabular files."}
            cached = self.cache.get(entry.sha256)
            if cached is not None:
                return cached
            job = self._submit(
                ("stats", entry.sha256),
                _compute_stats,
                self.cache.root,
                entry.sha256,
                blob,
                filename,
            )
            error = job.exception() if job.done() else None
            if isinstance(error, BrokenProcessPool):
                return {
                    "status": "failed",
                    "message": "The statistics worker stopped while reading this file, "
                    f"{self._deaths[('stats', entry.sha256)]} times: it may need more than "
                    f"{self.stats_memory / 2**30:g} GiB of memory.",
                }
            if error is not None:
                return {"status": "failed", "message": str(error)}
            return {"status": "pending"}

        return await run_sync(work)

    def _submit(self, key: tuple[str, str], fn: Any, *args: Any) -> Future[Any]:
        """The job of ``key``: running, done, or submitted now (again if it failed)."""
        with self._pool_lock:  # requests run in threads
            job = self._jobs.get(key)
            if job is not None and not (job.done() and job.exception() is not None):
                return job
            if job is not None and isinstance(job.exception(), BrokenProcessPool):
                if self._deaths[key] <= WORKER_RETRIES:
                    self._deaths[key] += 1
                if self._deaths[key] > WORKER_RETRIES:
                    return job  # it died on this file each time: say so, don't loop
            try:
                job = self._pool().submit(fn, *args)
            except BrokenProcessPool:  # its worker died since the last job: a new one
                log.warning("The datasets worker died; starting a new one")
                if self._background is not None:
                    self._background.shutdown(wait=False, cancel_futures=True)
                self._background = None
                job = self._pool().submit(fn, *args)
            self._jobs[key] = job
            return job

    def _pool(self) -> ProcessPoolExecutor:
        if self._background is None:
            self._background = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_limit_memory,
                initargs=(self.stats_memory,),
            )
        return self._background

    # -- changing ------------------------------------------------------------------------
    async def delete_dataset(self, project: str, name: str) -> None:
        await run_sync(lambda: self.store.delete_dataset(self._project(project), name))

    async def delete_version(self, project: str, name: str, version: str) -> None:
        def work() -> None:
            number = parse_version(version)
            if number is None:
                raise BadRequest("Delete a numbered version, not 'latest'.", reason="bad_version")
            self.store.delete_version(self._project(project), name, number)

        await run_sync(work)

    async def extract(self, project: str, name: str, version: str, author: str) -> dict[str, Any]:
        def work() -> dict[str, Any]:
            p = self._project(project)
            v = self.store.get(p, name, parse_version(version))
            if v.kind != "file" or not is_archive(v.filename):
                raise BadRequest(
                    f"{v.key} is not a zip, tar, tar.gz or tgz file.", reason="not_archive"
                )
            blobs = self.store.blobs(p)
            files = extract(blobs.path(v.sha256), v.filename, blobs, self.limits)
            meta = NewVersion(
                filename=v.name,
                description=v.description,
                tags=tuple(v.tags),
                author=author,
                source=f"extracted from {v.key}",
            )
            return self.store.add_version(p, v.name, meta, files=files).to_json()

        return await run_sync(work)

    async def import_path(
        self,
        project: str,
        root: Path,
        body: dict[str, Any],
        author: str,
        allow_hidden: bool = False,
    ) -> dict[str, Any]:
        """A file or folder of the Jupyter root as a new version ("Upload as dataset");
        hidden files only where ``allow_hidden`` (the ContentsManager's rule)."""

        def work() -> dict[str, Any]:
            source = resolve_inside(root, body.get("path"))
            check_readable(root, source, body["path"], self.projects.home, allow_hidden)
            if not source.exists():
                raise NotFound(f"There is no file or folder '{body['path']}'.", reason="no_path")
            version = ingest_path(
                self.store,
                self._project(project),
                source,
                name=body.get("name") or None,
                description=body.get("description") or "",
                tags=body.get("tags") or [],
                extract_archive=bool(body.get("extract", False)),
                author=author,
                limits=self.limits,
                skip_hidden=not allow_hidden,
            )
            return version.to_json()

        return await run_sync(work)

    # -- uploads -------------------------------------------------------------------------
    async def begin_upload(self, project: str, body: dict[str, Any], author: str) -> dict[str, Any]:
        return await run_sync(lambda: self.uploads.begin(self._project(project), body, author))

    async def upload_status(self, project: str, upload_id: str) -> dict[str, Any]:
        return await run_sync(lambda: self.uploads.status(self._project(project), upload_id))

    async def upload_writer(
        self, project: str, upload_id: str, index: int, offset: int
    ) -> HashingWriter:
        """The writer of one file, with its lock held (waiting for a request still writing
        it): the caller gives it back with ``release_writer`` after its last write."""
        await self.uploads.locks.acquire([(upload_id, index)])
        try:
            return await run_sync(
                lambda: self.uploads.writer(self._project(project), upload_id, index, offset)
            )
        except BaseException:
            self.release_writer(upload_id, index)
            raise

    def release_writer(self, upload_id: str, index: int) -> None:
        self.uploads.locks.release([(upload_id, index)])

    async def _whole_upload(self, project: str, upload_id: str) -> list[tuple[str, int]]:
        """Take the locks of every file of an upload (no chunk is being written after)."""
        count = await run_sync(lambda: self.uploads.file_count(self._project(project), upload_id))
        keys = [(upload_id, i) for i in range(count)]
        await self.uploads.locks.acquire(keys)
        return keys

    async def commit_upload(
        self, project: str, upload_id: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        keys = await self._whole_upload(project, upload_id)
        try:
            digests = check_digests(body or {}, len(keys))
            version = await run_sync(
                lambda: self.uploads.commit(self._project(project), upload_id, digests)
            )
        finally:
            self.uploads.locks.release(keys)
        self.uploads.locks.forget(upload_id)
        return version.to_json()

    async def abort_upload(self, project: str, upload_id: str) -> None:
        keys = await self._whole_upload(project, upload_id)
        try:
            await run_sync(lambda: self.uploads.abort(self._project(project), upload_id))
        finally:
            self.uploads.locks.release(keys)
        self.uploads.locks.forget(upload_id)


# -- run in the worker process ---------------------------------------------------------
def _limit_memory(limit: int) -> None:
    """Bound the worker's heap: a file that needs more fails there with MemoryError."""
    try:
        import resource
    except ImportError:  # not on this platform
        return
    _soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))


def _count_rows(cache_root: Path, sha: str, blob: Path) -> int:
    return StatsCache(cache_root).row_count(sha, blob)


def _compute_stats(cache_root: Path, sha: str, blob: Path, filename: str) -> None:
    try:
        result = compute_stats(blob, filename, "")
    except MemoryError:  # not cached: a later try, with more memory, may succeed
        raise RuntimeError(
            "Statistics of this file need more memory than the worker has."
        ) from None
    except Exception as exc:  # a malformed file: say so, once
        result = {"status": "failed", "message": f"Statistics failed: {exc}"}
    StatsCache(cache_root).put(sha, result)
