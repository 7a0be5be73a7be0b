"""The shapes of the datasets API: versions, uploads, previews, statistics."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from ..schemas import Request, Response

META_REASONS = {"description": "bad_meta", "tags": "bad_meta"}


class DatasetImport(Request):
    """A file or folder of the Jupyter root as a new version ("Upload as dataset")."""

    reasons: ClassVar[dict[str, str]] = {
        **META_REASONS,
        "path": "no_path",
        "name": "invalid_name",
    }

    path: str
    name: str | None = None
    description: str | None = None
    tags: list[str] | None = None
    extract: bool = False


class UploadFileSpec(Request):
    path: str
    size: int = Field(ge=0)


class UploadCreate(Request):
    """An upload session: its files, in order; their bytes follow by PUT."""

    reasons: ClassVar[dict[str, str]] = {
        **META_REASONS,
        "name": "invalid_name",
        "files": "bad_file",
        "filename": "invalid_filename",
    }

    name: str
    files: list[UploadFileSpec]
    folder: bool | None = None
    filename: str | None = None
    description: str | None = None
    tags: list[str] | None = None
    extract: bool = False


class UploadCommit(Request):
    """The client's sha256 of each file (hex, or null), in the upload's order."""

    reasons: ClassVar[dict[str, str]] = {"sha256": "bad_sha256"}

    sha256: list[str | None] | None = None


class DatasetVersion(Response):
    project: str
    name: str
    version: int
    key: str
    kind: Literal["file", "folder"]
    sha256: str
    size: int
    file_count: int
    filename: str
    media_type: str
    description: str
    tags: list[str]
    author: str
    created: str
    source: str
    source_run_id: str | None = Field(
        None, description="A promoted run output: the MLflow run that wrote it."
    )
    source_job_id: str | None = Field(None, description="... and its job.")
    source_path: str | None = Field(None, description="... and its path in the run's outputs.")
    derived_from: list[str] = Field(
        [], description="The versions it was made from, as exact keys (project/name@N)."
    )


class DatasetFile(Response):
    path: str
    sha256: str
    size: int


class DatasetVersionDetail(DatasetVersion):
    """A version with (up to 1,000 of) its files."""

    files: list[DatasetFile]


class DatasetRow(Response):
    name: str
    created: str
    updated: str
    versions: int
    latest: DatasetVersion


class DatasetList(Response):
    datasets: list[DatasetRow]


class Dataset(Response):
    name: str
    versions: list[DatasetVersion]


class UploadFileStatus(Response):
    path: str
    size: int
    index: int
    received: int


class Upload(Response):
    id: str
    name: str
    created: str
    files: list[UploadFileStatus]
    size: int
    received: int


class ChunkReceived(Response):
    index: int
    received: int


class Column(Response):
    name: str
    type: str


class PreviewEntry(Response):
    path: str
    size: int
    dir: bool | None = None


class Preview(Response):
    """A file's first rows, text, thumbnail or listing; which fields come depends on
    ``kind``."""

    kind: Literal["csv", "parquet", "json", "jsonl", "image", "text", "archive", "folder", "binary"]
    key: str
    filename: str | None = None
    size: int | None = None
    columns: list[Column] | None = None
    rows: list[list[Any]] | None = None
    total_rows: int | None = None
    delimiter: str | None = None
    row_groups: int | None = None
    text: str | None = None
    truncated: bool | None = None
    thumbnail: str | None = None
    width: int | None = None
    height: int | None = None
    mode: str | None = None
    files: list[PreviewEntry] | None = None
    file_count: int | None = None
    hex: str | None = None
    error: str | None = None


class TopValue(Response):
    value: Any
    count: int


class ColumnStats(Response):
    name: str
    type: Literal["number", "string"]
    count: int
    nulls: int
    min: Any
    max: Any
    mean: float | None
    top: list[TopValue]


class Stats(Response):
    """Column statistics, computed in the background: ``pending`` until they are done."""

    status: Literal["pending", "done", "failed", "unsupported"]
    message: str | None = None
    rows: int | None = None
    columns: list[ColumnStats] | None = None
