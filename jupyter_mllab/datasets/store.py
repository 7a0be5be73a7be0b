"""Datasets and their immutable versions (SQLite) over a per-project blob store.

A version becomes visible only when its row commits, after every blob it names is
fsynced and renamed into place: the manifest is written last, so a crash mid-upload
leaves no version, and ``collect_garbage`` removes what it left behind.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import mimetypes
import sqlite3
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ..db import register_schema
from ..errors import BadRequest, NotFound
from ..projects.store import Project, ProjectStore, utcnow
from .blobs import BlobStore, Staged
from .keys import DatasetKey, validate_dataset_name

register_schema(
    "datasets",
    """
    CREATE TABLE IF NOT EXISTS datasets (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        project_id TEXT NOT NULL,
        name TEXT NOT NULL COLLATE NOCASE,
        created TEXT NOT NULL,
        updated TEXT NOT NULL,
        next_version INTEGER NOT NULL DEFAULT 1,
        deleted INTEGER NOT NULL DEFAULT 0,
        UNIQUE (project_id, name)
    );
    CREATE TABLE IF NOT EXISTS dataset_versions (
        dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        version INTEGER NOT NULL,
        kind TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        size INTEGER NOT NULL,
        file_count INTEGER NOT NULL,
        filename TEXT NOT NULL,
        media_type TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        tags TEXT NOT NULL DEFAULT '[]',
        author TEXT NOT NULL DEFAULT '',
        created TEXT NOT NULL,
        source TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (dataset_id, version)
    );
    CREATE TABLE IF NOT EXISTS dataset_files (
        dataset_id INTEGER NOT NULL,
        version INTEGER NOT NULL,
        path TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        size INTEGER NOT NULL,
        PRIMARY KEY (dataset_id, version, path),
        FOREIGN KEY (dataset_id, version)
            REFERENCES dataset_versions(dataset_id, version) ON DELETE CASCADE
    );
    CREATE INDEX IF NOT EXISTS dataset_files_sha ON dataset_files(sha256);
    -- where a version came from, when a run made it (a promoted run output); its own
    -- table so that a home made before it gains it by CREATE alone
    CREATE TABLE IF NOT EXISTS dataset_version_sources (
        dataset_id INTEGER NOT NULL,
        version INTEGER NOT NULL,
        run_id TEXT,
        job_id TEXT,
        path TEXT,
        PRIMARY KEY (dataset_id, version),
        FOREIGN KEY (dataset_id, version)
            REFERENCES dataset_versions(dataset_id, version) ON DELETE CASCADE
    );
    -- the versions a version was derived from (mllab.upload_dataset(derived_from=...)),
    -- as exact keys: a parent may live in another project, or be deleted later
    CREATE TABLE IF NOT EXISTS dataset_version_parents (
        dataset_id INTEGER NOT NULL,
        version INTEGER NOT NULL,
        position INTEGER NOT NULL,
        parent_key TEXT NOT NULL,
        PRIMARY KEY (dataset_id, version, position),
        FOREIGN KEY (dataset_id, version)
            REFERENCES dataset_versions(dataset_id, version) ON DELETE CASCADE
    );
    """,
)

# A version's origin when a run made it (dataset_version_sources), beside its row.
# And its parents, in the order given, as a JSON array.
SOURCE_COLUMNS = (
    "s.run_id AS source_run_id, s.job_id AS source_job_id, s.path AS source_path,"
    " (SELECT json_group_array(parent_key) FROM (SELECT parent_key"
    " FROM dataset_version_parents p WHERE p.dataset_id = v.dataset_id"
    " AND p.version = v.version ORDER BY p.position)) AS derived_from"
)
SOURCE_JOIN = (
    "LEFT JOIN dataset_version_sources s ON s.dataset_id = v.dataset_id AND s.version = v.version"
)

_EXTRA_TYPES = {
    ".csv": "text/csv",
    ".tsv": "text/tab-separated-values",
    ".parquet": "application/vnd.apache.parquet",
    ".pq": "application/vnd.apache.parquet",
    ".jsonl": "application/x-ndjson",
    ".ndjson": "application/x-ndjson",
    ".json": "application/json",
    ".tgz": "application/gzip",
    ".md": "text/markdown",
}


def guess_media_type(filename: str) -> str:
    lower = filename.lower()
    for suffix, media in _EXTRA_TYPES.items():
        if lower.endswith(suffix):
            return media
    return mimetypes.guess_type(lower)[0] or "application/octet-stream"


def safe_filename(name: object) -> str:
    """The last component of a client's file name, refusing what cannot be a file name."""
    if not isinstance(name, str) or "\x00" in name:
        raise BadRequest("The file name is not valid.", reason="invalid_filename")
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if base in ("", ".", "..") or len(base) > 255:
        raise BadRequest(f"{name!r} is not a usable file name.", reason="invalid_filename")
    return base


def manifest_digest(entries: Iterable[tuple[str, str]]) -> str:
    """A folder's sha256: over sorted ``<sha>  <path>`` lines, as sha256sum prints them."""
    h = hashlib.sha256()
    for path, sha in sorted(entries):
        h.update(f"{sha}  {path}\n".encode())
    return h.hexdigest()


@dataclass(frozen=True)
class FileEntry:
    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Version:
    project: str
    name: str
    version: int
    kind: str  # "file" | "folder"
    sha256: str
    size: int
    file_count: int
    filename: str
    media_type: str
    description: str
    tags: list[str]
    author: str
    created: str
    source: str = ""
    # a promoted run output: the MLflow run, the job and the file's path in its outputs
    source_run_id: str | None = None
    source_job_id: str | None = None
    source_path: str | None = None
    # the versions it was made from (exact keys, project/name@N)
    derived_from: list[str] = field(default_factory=list)
    project_id: str = field(default="", repr=False)

    @property
    def key(self) -> str:
        return f"{self.project}/{self.name}@{self.version}"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["project_id"]
        data["key"] = self.key
        return data


@dataclass(frozen=True)
class NewVersion:
    """What a caller knows about a version it is adding."""

    filename: str
    description: str = ""
    tags: tuple[str, ...] = ()
    author: str = ""
    source: str = ""
    media_type: str = ""
    source_run_id: str | None = None
    source_job_id: str | None = None
    source_path: str | None = None
    derived_from: tuple[str, ...] = ()


def check_meta(description: object, tags: object) -> tuple[str, tuple[str, ...]]:
    if description is None:
        description = ""
    if not isinstance(description, str) or len(description) > 10_000:
        raise BadRequest(
            "The description must be text of at most 10,000 characters.", reason="bad_meta"
        )
    if tags is None:
        tags = []
    if not isinstance(tags, list) or not all(isinstance(t, str) and 0 < len(t) <= 64 for t in tags):
        raise BadRequest("Tags must be a list of short strings.", reason="bad_meta")
    return description, tuple(dict.fromkeys(tags))


class DatasetStore:
    def __init__(self, projects: ProjectStore):
        self.projects = projects
        self.db = projects.db

    # -- paths ---------------------------------------------------------------------------
    def blobs(self, project: Project) -> BlobStore:
        return BlobStore(self.projects.project_dir(project) / "datasets")

    def cache_dir(self) -> Path:
        return self.projects.home / "cache" / "datasets"

    # -- reading -------------------------------------------------------------------------
    def _version(self, project: Project, name: str, row: sqlite3.Row) -> Version:
        columns = row.keys()  # a query without SOURCE_COLUMNS reads no origin

        def origin(column: str) -> str | None:
            return row[column] if column in columns else None

        return Version(
            project=project.name,
            name=name,
            version=row["version"],
            kind=row["kind"],
            sha256=row["sha256"],
            size=row["size"],
            file_count=row["file_count"],
            filename=row["filename"],
            media_type=row["media_type"],
            description=row["description"],
            tags=json.loads(row["tags"]),
            author=row["author"],
            created=row["created"],
            source=row["source"],
            source_run_id=origin("source_run_id"),
            source_job_id=origin("source_job_id"),
            source_path=origin("source_path"),
            derived_from=json.loads(origin("derived_from") or "[]"),
            project_id=project.id,
        )

    def _dataset_row(self, conn: sqlite3.Connection, project: Project, name: str) -> sqlite3.Row:
        row = conn.execute(
            "SELECT * FROM datasets WHERE project_id = ? AND name = ? AND deleted = 0",
            (project.id, name),
        ).fetchone()
        if row is None:
            raise NotFound(
                f"Project '{project.name}' has no dataset named '{name}'.", reason="no_such_dataset"
            )
        return row

    def list_datasets(self, project: Project, search: str = "") -> list[dict[str, Any]]:
        """One row per dataset: its latest version, how many versions, when it changed."""
        like = f"%{search.strip()}%"
        with self.db.connect() as conn:
            rows = conn.execute(
                f"""
                SELECT d.name AS dname, d.updated AS dupdated, d.created AS dcreated,
                       (SELECT COUNT(*) FROM dataset_versions c WHERE c.dataset_id = d.id) AS n,
                       v.*, {SOURCE_COLUMNS}
                FROM datasets d
                JOIN dataset_versions v ON v.dataset_id = d.id AND v.version =
                     (SELECT MAX(version) FROM dataset_versions m WHERE m.dataset_id = d.id)
                {SOURCE_JOIN}
                WHERE d.project_id = ? AND d.deleted = 0
                  AND (d.name LIKE ? OR v.description LIKE ? OR v.tags LIKE ?
                       OR v.filename LIKE ?)
                ORDER BY d.updated DESC
                """,
                (project.id, like, like, like, like),
            ).fetchall()
        out = []
        for row in rows:
            latest = self._version(project, row["dname"], row)
            out.append(
                {
                    "name": row["dname"],
                    "created": row["dcreated"],
                    "updated": row["dupdated"],
                    "versions": row["n"],
                    "latest": latest.to_json(),
                }
            )
        return out

    def versions(self, project: Project, name: str) -> list[Version]:
        with self.db.connect() as conn:
            d = self._dataset_row(conn, project, name)
            rows = conn.execute(
                f"SELECT v.*, {SOURCE_COLUMNS} FROM dataset_versions v {SOURCE_JOIN}"
                " WHERE v.dataset_id = ? ORDER BY v.version DESC",
                (d["id"],),
            ).fetchall()
        return [self._version(project, d["name"], r) for r in rows]

    def get(self, project: Project, name: str, version: int | None = None) -> Version:
        with self.db.connect() as conn:
            d = self._dataset_row(conn, project, name)
            if version is None:
                row = conn.execute(
                    f"SELECT v.*, {SOURCE_COLUMNS} FROM dataset_versions v {SOURCE_JOIN}"
                    " WHERE v.dataset_id = ? ORDER BY v.version DESC LIMIT 1",
                    (d["id"],),
                ).fetchone()
            else:
                row = conn.execute(
                    f"SELECT v.*, {SOURCE_COLUMNS} FROM dataset_versions v {SOURCE_JOIN}"
                    " WHERE v.dataset_id = ? AND v.version = ?",
                    (d["id"], version),
                ).fetchone()
        if row is None:
            which = f"version {version}" if version else "any version"
            raise NotFound(
                f"Dataset '{project.name}/{d['name']}' has no {which}.", reason="no_such_version"
            )
        return self._version(project, d["name"], row)

    def resolve(self, key: DatasetKey) -> Version:
        return self.get(self.projects.get(key.project), key.name, key.version)

    def files(self, version: Version, limit: int | None = None) -> list[FileEntry]:
        """The manifest of a folder version (a file version is one entry: its file name)."""
        if version.kind == "file":
            return [FileEntry(version.filename, version.sha256, version.size)]
        with self.db.connect() as conn:
            d = conn.execute(
                "SELECT id FROM datasets WHERE project_id = ? AND name = ?",
                (version.project_id, version.name),
            ).fetchone()
            rows = conn.execute(
                "SELECT path, sha256, size FROM dataset_files WHERE dataset_id = ? AND version = ?"
                " ORDER BY path LIMIT ?",
                (d["id"], version.version, -1 if limit is None else limit),
            ).fetchall()
        return [FileEntry(r["path"], r["sha256"], r["size"]) for r in rows]

    def blob_path(self, version: Version, path: str | None = None) -> tuple[Path, FileEntry]:
        """The stored file of a file version, or of one file of a folder version."""
        project = self.projects.get(version.project)
        if version.kind == "file":
            entry = FileEntry(version.filename, version.sha256, version.size)
        else:
            if not path:
                raise BadRequest(
                    "Name a file of this folder dataset (?path=...).", reason="need_path"
                )
            entry = self._folder_entry(version, path)
        return self.blobs(project).path(entry.sha256), entry

    def _folder_entry(self, version: Version, path: str) -> FileEntry:
        with self.db.connect() as conn:
            row = conn.execute(
                "SELECT f.path, f.sha256, f.size FROM dataset_files f"
                " JOIN datasets d ON d.id = f.dataset_id"
                " WHERE d.project_id = ? AND d.name = ? AND f.version = ? AND f.path = ?",
                (version.project_id, version.name, version.version, path),
            ).fetchone()
        if row is None:
            raise NotFound(f"{version.key} has no file '{path}'.", reason="no_such_file")
        return FileEntry(row["path"], row["sha256"], row["size"])

    # -- writing -------------------------------------------------------------------------
    def add_version(
        self,
        project: Project,
        name: str,
        meta: NewVersion,
        *,
        blob: Staged | None = None,
        files: list[Staged] | None = None,
    ) -> Version:
        """Move the staged blobs into place, then commit the version (the manifest last)."""
        name = validate_dataset_name(name)
        filename = safe_filename(meta.filename)
        if (blob is None) == (files is None):
            raise ValueError("a version is either one blob or a list of files")
        if files is not None:
            paths = [f.path for f in files]
            if len(set(paths)) != len(paths):
                raise BadRequest("A folder dataset lists a path twice.", reason="duplicate_path")
            for p in paths:
                if PurePosixPath(p).is_absolute() or ".." in PurePosixPath(p).parts:
                    raise BadRequest(f"Unsafe path in folder: {p!r}", reason="unsafe_path")
            kind = "folder"
            sha = manifest_digest((f.path, f.sha256) for f in files)
            size, count = sum(f.size for f in files), len(files)
            media = meta.media_type or "inode/directory"
        else:
            assert blob is not None
            kind, sha, size, count = "file", blob.sha256, blob.size, 1
            media = meta.media_type or guess_media_type(filename)
        blobs = self.blobs(project)
        with blobs.lock():
            for staged in files if files is not None else [blob] if blob else []:
                if staged.temp is not None:
                    blobs.adopt(staged.temp, staged.sha256)
                elif not blobs.has(staged.sha256):
                    raise BadRequest(f"No stored content {staged.sha256}.", reason="no_blob")
            number, stored_name = self._commit(
                project, name, meta, kind, sha, size, count, filename, media, files
            )
        return self.get(project, stored_name, number)

    def _commit(
        self,
        project: Project,
        name: str,
        meta: NewVersion,
        kind: str,
        sha: str,
        size: int,
        count: int,
        filename: str,
        media: str,
        files: list[Staged] | None,
    ) -> tuple[int, str]:
        now = utcnow()
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO datasets (project_id, name, created, updated) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(project_id, name)"
                " DO UPDATE SET deleted = 0, updated = excluded.updated",
                (project.id, name, now, now),
            )
            d = conn.execute(
                "SELECT id, name, next_version FROM datasets WHERE project_id = ? AND name = ?",
                (project.id, name),
            ).fetchone()
            number = d["next_version"]
            conn.execute(
                "INSERT INTO dataset_versions (dataset_id, version, kind, sha256, size, file_count,"
                " filename, media_type, description, tags, author, created, source)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    d["id"],
                    number,
                    kind,
                    sha,
                    size,
                    count,
                    filename,
                    media,
                    meta.description,
                    json.dumps(list(meta.tags)),
                    meta.author or getpass.getuser(),
                    now,
                    meta.source,
                ),
            )
            if meta.source_run_id or meta.source_job_id:
                conn.execute(
                    "INSERT INTO dataset_version_sources (dataset_id, version, run_id, job_id,"
                    " path) VALUES (?, ?, ?, ?, ?)",
                    (d["id"], number, meta.source_run_id, meta.source_job_id, meta.source_path),
                )
            if meta.derived_from:
                conn.executemany(
                    "INSERT INTO dataset_version_parents (dataset_id, version, position,"
                    " parent_key) VALUES (?, ?, ?, ?)",
                    [(d["id"], number, i, key) for i, key in enumerate(meta.derived_from)],
                )
            if files is not None:
                conn.executemany(
                    "INSERT INTO dataset_files (dataset_id, version, path, sha256, size)"
                    " VALUES (?, ?, ?, ?, ?)",
                    [(d["id"], number, f.path, f.sha256, f.size) for f in files],
                )
            conn.execute(
                "UPDATE datasets SET next_version = ?, updated = ? WHERE id = ?",
                (number + 1, now, d["id"]),
            )
        return number, d["name"]

    def delete_version(self, project: Project, name: str, version: int) -> None:
        self.get(project, name, version)  # 404s first
        with self.db.transaction() as conn:
            d = self._dataset_row(conn, project, name)
            conn.execute(
                "DELETE FROM dataset_versions WHERE dataset_id = ? AND version = ?",
                (d["id"], version),
            )
            left = conn.execute(
                "SELECT COUNT(*) FROM dataset_versions WHERE dataset_id = ?", (d["id"],)
            ).fetchone()[0]
            # A dataset without versions disappears, but keeps its numbering (keys never
            # come to mean other content).
            conn.execute(
                "UPDATE datasets SET deleted = ?, updated = ? WHERE id = ?",
                (0 if left else 1, utcnow(), d["id"]),
            )
        self.collect_garbage(project)

    def delete_dataset(self, project: Project, name: str) -> None:
        with self.db.transaction() as conn:
            d = self._dataset_row(conn, project, name)
            conn.execute("DELETE FROM dataset_versions WHERE dataset_id = ?", (d["id"],))
            conn.execute(
                "UPDATE datasets SET deleted = 1, updated = ? WHERE id = ?", (utcnow(), d["id"])
            )
        self.collect_garbage(project)

    def referenced_blobs(self, project: Project) -> set[str]:
        with self.db.connect() as conn:
            rows = conn.execute(
                "SELECT v.sha256 FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id"
                " WHERE d.project_id = ? AND v.kind = 'file'"
                " UNION SELECT f.sha256 FROM dataset_files f JOIN datasets d"
                " ON d.id = f.dataset_id WHERE d.project_id = ?",
                (project.id, project.id),
            ).fetchall()
        return {r[0] for r in rows}

    def collect_garbage(self, project: Project) -> int:
        blobs = self.blobs(project)
        with blobs.lock(exclusive=True):
            return blobs.collect(self.referenced_blobs(project))

    def forget_project(self, project: Project) -> None:
        """Drop every dataset row of a project being deleted (its folder goes with it)."""
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM datasets WHERE project_id = ?", (project.id,))
            conn.execute("DELETE FROM dataset_uploads WHERE project_id = ?", (project.id,))

    def count(self, project: Project) -> int:
        with self.db.connect() as conn:
            return int(
                conn.execute(
                    "SELECT COUNT(*) FROM datasets WHERE project_id = ? AND deleted = 0",
                    (project.id,),
                ).fetchone()[0]
            )
