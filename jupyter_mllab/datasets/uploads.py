"""Chunked, resumable uploads: a session lists its files; each file arrives in chunks at
known offsets, hashed as it streams; commit turns the session into one version."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..db import register_schema
from ..errors import BadRequest, Conflict, NotFound, PayloadTooLarge
from ..projects.store import Project, utcnow
from .archives import ArchiveLimits, extract, is_archive, safe_member_path
from .blobs import HashingWriter, Staged
from .keys import validate_dataset_name
from .store import DatasetStore, NewVersion, Version, check_meta, safe_filename

register_schema(
    "dataset_uploads",
    """
    CREATE TABLE IF NOT EXISTS dataset_uploads (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL,
        spec TEXT NOT NULL,
        created TEXT NOT NULL
    );
    """,
)

MAX_FILES = 100_000
BUSY_WAIT_S = 30.0  # how long a request waits for another one writing the same file
_SHA256 = re.compile(r"[0-9a-f]{64}")


class FileLocks:
    """One lock per file of an upload, so that its bytes arrive in one order only: a chunk
    request holds its file's lock from the offset check until its last byte is written (the
    queued writes of a dropped request included); commit and abort hold all of an upload's.
    Taken and released on the event loop only."""

    def __init__(self) -> None:
        self._locks: dict[tuple[str, int], asyncio.Lock] = {}

    async def acquire(self, keys: list[tuple[str, int]], wait_s: float | None = None) -> None:
        wait_s = BUSY_WAIT_S if wait_s is None else wait_s
        taken: list[tuple[str, int]] = []
        try:
            for key in keys:
                lock = self._locks.setdefault(key, asyncio.Lock())
                await asyncio.wait_for(lock.acquire(), wait_s)
                taken.append(key)
        except TimeoutError:
            self.release(taken)
            raise Conflict(
                "Another request is still writing this upload; try again in a moment.",
                reason="upload_busy",
            ) from None
        except BaseException:
            self.release(taken)
            raise

    def release(self, keys: list[tuple[str, int]]) -> None:
        for key in keys:
            lock = self._locks.get(key)
            if lock is not None and lock.locked():
                lock.release()

    def forget(self, upload_id: str) -> None:
        for key in [k for k, lock in self._locks.items() if k[0] == upload_id]:
            if not self._locks[key].locked():
                del self._locks[key]


def check_digests(body: dict[str, Any], count: int) -> list[str | None]:
    """The client's sha256 of each file, from a commit's ``{"sha256": [hex or null, ...]}``
    (one entry per file, in the upload's order); all None when it sends none."""
    digests = body.get("sha256")
    if digests is None:
        return [None] * count
    if (
        not isinstance(digests, list)
        or len(digests) != count
        or not all(d is None or (isinstance(d, str) and _SHA256.fullmatch(d)) for d in digests)
    ):
        raise BadRequest(
            f"sha256 must list one lowercase hex sha256 (or null) for each of the {count:,} "
            "files of the upload, in its order.",
            reason="bad_sha256",
        )
    return list(digests)


@dataclass
class Session:
    id: str
    project_id: str
    spec: dict[str, Any]
    created: str

    @property
    def files(self) -> list[dict[str, Any]]:
        return self.spec["files"]


class UploadManager:
    def __init__(self, store: DatasetStore, max_upload_size: int, limits: ArchiveLimits):
        self.store = store
        self.max_upload_size = max_upload_size
        self.limits = limits
        self._writers: dict[tuple[str, int], HashingWriter] = {}
        self.locks = FileLocks()

    # -- sessions ------------------------------------------------------------------------
    def begin(self, project: Project, body: dict[str, Any], author: str) -> dict[str, Any]:
        name = validate_dataset_name(body.get("name"))
        files = body.get("files")
        if not isinstance(files, list) or not files:
            raise BadRequest(
                "An upload lists its files: {'files': [{'path': ..., 'size': ...}]}.",
                reason="no_files",
            )
        if len(files) > MAX_FILES:
            raise PayloadTooLarge(f"At most {MAX_FILES:,} files in one upload.")
        folder = bool(body.get("folder", len(files) > 1))
        clean = []
        for f in files:  # each {"path": str, "size": int >= 0}: the UploadCreate model's
            path = safe_member_path(f["path"]) if folder else safe_filename(f["path"])
            clean.append({"path": path, "size": f["size"]})
        if len({f["path"] for f in clean}) != len(clean):
            raise BadRequest("The upload lists a path twice.", reason="duplicate_path")
        total = sum(f["size"] for f in clean)
        if total > self.max_upload_size:
            raise PayloadTooLarge(
                f"This upload is {total:,} bytes; the limit is {self.max_upload_size:,} bytes.",
                reason="too_large",
            )
        filename = safe_filename(body.get("filename") or (name if folder else clean[0]["path"]))
        extract_it = bool(body.get("extract", False))
        if extract_it and (folder or not is_archive(filename)):
            raise BadRequest(
                "Only a single zip, tar, tar.gz or tgz file can be extracted.", reason="not_archive"
            )
        description, tags = check_meta(body.get("description"), body.get("tags"))
        spec = {
            "name": name,
            "files": clean,
            "folder": folder,
            "filename": filename,
            "extract": extract_it,
            "description": description,
            "tags": list(tags),
            "author": author,
        }
        session = Session(uuid.uuid4().hex, project.id, spec, utcnow())
        with self.store.db.transaction() as conn:
            conn.execute(
                "INSERT INTO dataset_uploads (id, project_id, spec, created) VALUES (?, ?, ?, ?)",
                (session.id, project.id, json.dumps(spec), session.created),
            )
        return self.status(project, session.id)

    def _session(self, project: Project, upload_id: str) -> Session:
        with self.store.db.connect() as conn:
            row = conn.execute(
                "SELECT * FROM dataset_uploads WHERE id = ? AND project_id = ?",
                (upload_id, project.id),
            ).fetchone()
        if row is None:
            raise NotFound(f"There is no upload '{upload_id}' in progress.", reason="no_upload")
        return Session(row["id"], row["project_id"], json.loads(row["spec"]), row["created"])

    def _part(self, project: Project, upload_id: str, index: int) -> Path:
        return self.store.blobs(project).tmp_dir / f"up-{upload_id}-{index}.part"

    def _received(self, project: Project, upload_id: str, index: int) -> int:
        writer = self._writers.get((upload_id, index))
        if writer is not None:
            return writer.size
        part = self._part(project, upload_id, index)
        return part.stat().st_size if part.exists() else 0

    def status(self, project: Project, upload_id: str) -> dict[str, Any]:
        session = self._session(project, upload_id)
        files = [
            {**f, "index": i, "received": self._received(project, upload_id, i)}
            for i, f in enumerate(session.files)
        ]
        return {
            "id": session.id,
            "name": session.spec["name"],
            "created": session.created,
            "files": files,
            "size": sum(f["size"] for f in files),
            "received": sum(f["received"] for f in files),
        }

    # -- chunks --------------------------------------------------------------------------
    def writer(self, project: Project, upload_id: str, index: int, offset: int) -> HashingWriter:
        """The writer that takes the next chunk of a file, which must start at ``offset``."""
        session = self._session(project, upload_id)
        if not 0 <= index < len(session.files):
            raise NotFound(f"Upload {upload_id} has no file number {index}.", reason="no_file")
        received = self._received(project, upload_id, index)
        if offset != received:
            raise Conflict(
                f"This chunk starts at byte {offset:,} but {received:,} bytes have arrived; "
                f"resume from {received:,}.",
                reason="offset_mismatch",
            )
        key = (upload_id, index)
        writer = self._writers.get(key)
        if writer is None:
            part = self._part(project, upload_id, index)
            part.parent.mkdir(parents=True, exist_ok=True)
            writer = HashingWriter(part, limit=session.files[index]["size"], append=True)
            self._writers[key] = writer
        return writer

    # -- the end -------------------------------------------------------------------------
    def file_count(self, project: Project, upload_id: str) -> int:
        return len(self._session(project, upload_id).files)

    def commit(
        self, project: Project, upload_id: str, digests: list[str | None] | None = None
    ) -> Version:
        """The upload as a new version, once every file has all its bytes and, where the
        client sent its sha256, exactly those bytes (a file that does not match is dropped,
        to be sent again; the session stays)."""
        session = self._session(project, upload_id)
        spec = session.spec
        if digests is None:
            digests = [None] * len(session.files)
        if len(digests) != len(session.files):
            raise BadRequest("One sha256 per file of the upload.", reason="bad_sha256")
        staged: list[Staged] = []
        for i, f in enumerate(session.files):
            writer = self._writers.pop((upload_id, i), None) or HashingWriter(
                self._part(project, upload_id, i), append=True
            )
            sha, size = writer.close()
            if size != f["size"]:
                self._writers[(upload_id, i)] = HashingWriter(writer.path, append=True)
                raise BadRequest(
                    f"'{f['path']}' is incomplete: {size:,} of {f['size']:,} bytes arrived.",
                    reason="incomplete",
                )
            staged.append(Staged(f["path"], sha, size, writer.path))
        wrong = [
            (i, s.path)
            for i, (s, d) in enumerate(zip(staged, digests, strict=True))
            if d and d != s.sha256
        ]
        if wrong:
            for i, _path in wrong:
                self._part(project, upload_id, i).unlink(missing_ok=True)
            names = ", ".join(repr(p) for _i, p in wrong[:5])
            raise Conflict(
                f"{names} arrived with other bytes than were sent (the sha256 differs); "
                "send the file again, from its start.",
                reason="sha256_mismatch",
            )
        meta = NewVersion(
            filename=spec["filename"],
            description=spec["description"],
            tags=tuple(spec["tags"]),
            author=spec["author"],
        )
        blobs = self.store.blobs(project)
        if spec["extract"]:
            archive = staged[0]
            assert archive.temp is not None
            files = extract(archive.temp, spec["filename"], blobs, self.limits)
            meta = NewVersion(
                filename=spec["name"],
                description=meta.description,
                tags=meta.tags,
                author=meta.author,
                source=f"extracted from {spec['filename']}",
            )
            version = self.store.add_version(project, spec["name"], meta, files=files)
            archive.temp.unlink(missing_ok=True)
        elif spec["folder"]:
            version = self.store.add_version(project, spec["name"], meta, files=staged)
        else:
            version = self.store.add_version(project, spec["name"], meta, blob=staged[0])
        self._forget(session)
        return version

    def abort(self, project: Project, upload_id: str) -> None:
        session = self._session(project, upload_id)
        for i in range(len(session.files)):
            writer = self._writers.pop((upload_id, i), None)
            if writer:
                writer.discard()
            self._part(project, upload_id, i).unlink(missing_ok=True)
        self._forget(session)

    def _forget(self, session: Session) -> None:
        with self.store.db.transaction() as conn:
            conn.execute("DELETE FROM dataset_uploads WHERE id = ?", (session.id,))

    def cleanup(self, project: Project, max_age_s: float = 7 * 86400) -> int:
        """Drop stale sessions, and temp files no live session owns (run at start-up)."""
        now = utcnow()
        with self.store.db.connect() as conn:
            rows = conn.execute(
                "SELECT id, created FROM dataset_uploads WHERE project_id = ?", (project.id,)
            ).fetchall()
        from datetime import datetime

        def age(created: str) -> float:
            t0 = datetime.fromisoformat(created.replace("Z", "+00:00"))
            return (datetime.fromisoformat(now.replace("Z", "+00:00")) - t0).total_seconds()

        live = set()
        for row in rows:
            if age(row["created"]) > max_age_s:
                self.abort(project, row["id"])
            else:
                live.add(row["id"])
        keep = {
            p.name
            for p in self.store.blobs(project).tmp_dir.glob("up-*.part")
            if p.name.split("-")[1] in live
        }
        return self.store.blobs(project).clean_temp(keep=keep)
