"""The dataset store on its own: versions, dedup, crash safety, garbage, keys (no server)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from jupyter_mllab.datasets.blobs import HashingWriter, Staged
from jupyter_mllab.datasets.keys import DatasetKey, parse_key
from jupyter_mllab.datasets.store import DatasetStore, NewVersion, manifest_digest
from jupyter_mllab.errors import BadRequest, NotFound, PayloadTooLarge
from jupyter_mllab.projects.store import Project, ProjectStore


@pytest.fixture
def projects(tmp_path: Path) -> ProjectStore:
    store = ProjectStore(tmp_path / "home")
    store.ensure("default")
    return store


@pytest.fixture
def store(projects: ProjectStore) -> DatasetStore:
    return DatasetStore(projects)


@pytest.fixture
def project(projects: ProjectStore) -> Project:
    return projects.get("default")


def stage(store: DatasetStore, project: Project, data: bytes, path: str = "f") -> Staged:
    writer = HashingWriter(store.blobs(project).new_temp())
    for i in range(0, len(data), 7):
        writer.write(data[i : i + 7])
    sha, size = writer.close()
    return Staged(path, sha, size, writer.path)


def test_hash_is_computed_while_streaming(store: DatasetStore, project: Project) -> None:
    data = os.urandom(100_003)
    staged = stage(store, project, data)
    assert staged.sha256 == hashlib.sha256(data).hexdigest()
    assert staged.size == len(data)


def test_versions_are_numbered_immutable_and_deduplicated(
    store: DatasetStore, project: Project
) -> None:
    v1 = store.add_version(
        project, "wine", NewVersion("wine.csv", "first"), blob=stage(store, project, b"a,b\n1,2\n")
    )
    v2 = store.add_version(
        project, "wine", NewVersion("wine.csv"), blob=stage(store, project, b"a,b\n1,2\n")
    )
    v3 = store.add_version(
        project, "Wine", NewVersion("wine.csv"), blob=stage(store, project, b"a,b\n3,4\n")
    )
    assert [v.version for v in (v1, v2, v3)] == [1, 2, 3]
    assert v1.key == "default/wine@1"
    assert v1.media_type == "text/csv"
    assert v1.sha256 == v2.sha256 != v3.sha256
    assert len(store.blobs(project).all()) == 2  # identical content stored once
    assert store.get(project, "wine").version == 3
    assert store.get(project, "wine", 1).description == "first"
    blob = store.blobs(project).path(v1.sha256)
    assert not os.access(blob, os.W_OK) or os.getuid() == 0
    assert oct(blob.stat().st_mode & 0o777) == oct(0o444)
    [row] = store.list_datasets(project)
    assert (row["name"], row["versions"], row["latest"]["version"]) == ("wine", 3, 3)
    assert store.list_datasets(project, "nomatch") == []


def test_folder_version_has_a_manifest(store: DatasetStore, project: Project) -> None:
    files = [
        stage(store, project, b"x", "images/a.png"),
        stage(store, project, b"y", "labels.csv"),
    ]
    v = store.add_version(project, "imgs", NewVersion("imgs"), files=files)
    assert (v.kind, v.file_count, v.size) == ("folder", 2, 2)
    assert v.sha256 == manifest_digest((f.path, f.sha256) for f in files)
    assert [f.path for f in store.files(v)] == ["images/a.png", "labels.csv"]
    path, _ = store.blob_path(v, "labels.csv")
    assert path.read_bytes() == b"y"
    with pytest.raises(NotFound):
        store.blob_path(v, "../../etc/passwd")


def test_interrupted_upload_leaves_no_version(store: DatasetStore, project: Project) -> None:
    writer = HashingWriter(store.blobs(project).new_temp())
    writer.write(b"half of a file")
    # ... the process dies here: no close, no commit
    assert store.list_datasets(project) == []
    assert store.blobs(project).clean_temp() == 1
    assert list(store.blobs(project).tmp_dir.iterdir()) == []


def test_a_blob_without_its_version_is_collected(store: DatasetStore, project: Project) -> None:
    staged = stage(store, project, b"orphan")
    store.blobs(project).adopt(staged.temp, staged.sha256)  # crash before the commit
    assert store.collect_garbage(project) == 1
    assert store.blobs(project).all() == set()


def test_delete_version_and_dataset_collect_blobs(store: DatasetStore, project: Project) -> None:
    store.add_version(project, "d", NewVersion("a.txt"), blob=stage(store, project, b"one"))
    store.add_version(project, "d", NewVersion("a.txt"), blob=stage(store, project, b"two"))
    store.delete_version(project, "d", 1)
    assert [v.version for v in store.versions(project, "d")] == [2]
    assert len(store.blobs(project).all()) == 1
    with pytest.raises(NotFound):
        store.get(project, "d", 1)
    store.delete_dataset(project, "d")
    assert store.list_datasets(project) == []
    assert store.blobs(project).all() == set()
    # the name can come back, but its numbers go on: d@1 never means other content
    v = store.add_version(project, "d", NewVersion("a.txt"), blob=stage(store, project, b"3"))
    assert v.version == 3


def test_size_limit_while_streaming(store: DatasetStore, project: Project) -> None:
    writer = HashingWriter(store.blobs(project).new_temp(), limit=10)
    writer.write(b"12345")
    with pytest.raises(PayloadTooLarge):
        writer.write(b"678901")


@pytest.mark.parametrize(
    "filename",
    ["", "..", "/", "a\x00b", "x" * 300],
)
def test_bad_file_names(store: DatasetStore, project: Project, filename: str) -> None:
    with pytest.raises(BadRequest):
        store.add_version(project, "n", NewVersion(filename), blob=stage(store, project, b"z"))
    assert store.list_datasets(project) == []


def test_file_names_lose_their_folders(store: DatasetStore, project: Project) -> None:
    v = store.add_version(
        project, "n", NewVersion("C:\\Users\\me\\..\\data.csv"), blob=stage(store, project, b"z")
    )
    assert v.filename == "data.csv"


def test_keys() -> None:
    assert parse_key("wine", "p") == DatasetKey("p", "wine", None)
    assert parse_key("wine@3", "p") == DatasetKey("p", "wine", 3)
    assert parse_key("q/wine@latest", "p") == DatasetKey("q", "wine", None)
    assert str(parse_key("q/wine@2", "p")) == "q/wine@2"
    for bad in [
        "",
        "a/b/c",
        "../wine",
        "%2e%2e%2fwine",
        "%252e%252e%252f",
        "wine@0",
        "wine@-1",
        "wine@x",
        "p/..",
        "wine\\x",
        "a\x00b",
    ]:
        with pytest.raises(BadRequest):
            parse_key(bad, "p")
