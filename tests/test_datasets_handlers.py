"""Datasets over real HTTP: chunked upload, versions, download, preview, stats, extract."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

CSV = b"name,score,when\nalice,1.5,2024-01-01\n<img src=x onerror=alert(1)>,2,2024-01-02\n"


@pytest.fixture
def upload(api: Any, jp_fetch: Any) -> Any:
    """Upload files through the chunked API: begin, PUT chunks, commit."""

    async def run(
        name: str,
        files: dict[str, bytes],
        chunk: int = 1 << 20,
        project: str = "default",
        **extra: Any,
    ) -> tuple[int, Any]:
        spec = {"name": name, "files": [{"path": p, "size": len(d)} for p, d in files.items()]}
        status, session = await api("POST", "projects", project, "uploads", body={**spec, **extra})
        if status != 201:
            return status, session
        for i, data in enumerate(files.values()):
            for offset in range(0, max(len(data), 1), chunk):
                response = await jp_fetch(
                    "mllab",
                    "api",
                    "projects",
                    project,
                    "uploads",
                    session["id"],
                    "files",
                    str(i),
                    method="PUT",
                    body=data[offset : offset + chunk],
                    params={"offset": str(offset)},
                    raise_error=False,
                )
                if response.code != 200:
                    return response.code, json.loads(response.body)
        return await api("POST", "projects", project, "uploads", session["id"], "commit")

    return run


async def test_upload_preview_download_versions(api: Any, jp_fetch: Any, upload: Any) -> None:
    status, v1 = await upload("scores", {"scores.csv": CSV}, chunk=10)
    assert status == 201, v1
    assert v1["key"] == "default/scores@1"
    assert v1["sha256"] == hashlib.sha256(CSV).hexdigest()
    assert (v1["kind"], v1["size"], v1["media_type"]) == ("file", len(CSV), "text/csv")

    status, v2 = await upload("scores", {"scores.csv": CSV})
    assert v2["version"] == 2
    _, listing = await api("GET", "projects", "default", "datasets")
    [row] = listing["datasets"]
    assert (row["name"], row["versions"], row["latest"]["version"]) == ("scores", 2, 2)

    status, preview = await api(
        "GET", "projects", "default", "datasets", "scores", "versions", "1", "preview"
    )
    assert status == 200
    assert [c["name"] for c in preview["columns"]] == ["name", "score", "when"]
    assert [c["type"] for c in preview["columns"]] == ["string", "number", "datetime"]
    assert preview["rows"][1][0] == "<img src=x onerror=alert(1)>"  # data, shown as text
    assert preview["total_rows"] == 2

    response = await jp_fetch(
        "mllab",
        "api",
        "projects",
        "default",
        "datasets",
        "scores",
        "versions",
        "latest",
        "download",
    )
    assert response.body == CSV
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="scores.csv"')

    status, body = await api("GET", "projects", "default", "datasets", "scores")
    assert [v["version"] for v in body["versions"]] == [2, 1]


async def test_stats_in_background(api: Any, upload: Any) -> None:
    await upload("s", {"s.csv": CSV})
    path = ("projects", "default", "datasets", "s", "versions", "1", "stats")
    for _ in range(600):  # a worker process starts and imports pandas: up to a minute
        _status, stats = await api("GET", *path)
        if stats["status"] != "pending":
            break
        await asyncio.sleep(0.1)
    assert stats["status"] == "done", stats
    cols = {c["name"]: c for c in stats["columns"]}
    assert cols["score"]["mean"] == pytest.approx(1.75)
    assert (cols["score"]["min"], cols["score"]["max"]) == (1.5, 2.0)
    assert cols["name"]["count"] == 2


async def test_folder_upload_and_tar_download(api: Any, jp_fetch: Any, upload: Any) -> None:
    files = {"a/one.txt": b"1", "two.csv": b"x,y\n1,2\n"}
    status, v = await upload("folder", files)
    assert status == 201, v
    assert (v["kind"], v["file_count"]) == ("folder", 2)
    _, preview = await api(
        "GET", "projects", "default", "datasets", "folder", "versions", "1", "preview"
    )
    assert [f["path"] for f in preview["files"]] == ["a/one.txt", "two.csv"]
    _, inner = await api(
        "GET",
        "projects",
        "default",
        "datasets",
        "folder",
        "versions",
        "1",
        "preview",
        params={"path": "two.csv"},
    )
    assert inner["rows"] == [["1", "2"]]
    response = await jp_fetch(
        "mllab", "api", "projects", "default", "datasets", "folder", "versions", "1", "download"
    )
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(response.body)) as tf:
        assert sorted(tf.getnames()) == ["a/one.txt", "two.csv"]
        assert tf.extractfile("a/one.txt").read() == b"1"


async def test_zip_extract_on_upload_and_later(api: Any, upload: Any) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("imgs/a.txt", "a")
        zf.writestr("b.txt", "b")
    status, v = await upload("z", {"z.zip": buf.getvalue()}, extract=True)
    assert status == 201, v
    assert (v["kind"], v["file_count"], v["source"]) == ("folder", 2, "extracted from z.zip")
    status, _raw = await upload("z2", {"z2.zip": buf.getvalue()})
    _, preview = await api(
        "GET", "projects", "default", "datasets", "z2", "versions", "1", "preview"
    )
    assert preview["kind"] == "archive"
    assert {f["path"] for f in preview["files"]} == {"imgs/a.txt", "b.txt"}
    status, extracted = await api(
        "POST", "projects", "default", "datasets", "z2", "versions", "1", "extract"
    )
    assert status == 201
    assert extracted["version"] == 2
    assert extracted["source"] == "extracted from default/z2@1"


async def test_hostile_zip_upload_writes_nothing(api: Any, upload: Any, mllab_home: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("ok.txt", "fine")
        zf.writestr("../../escaped.txt", "pwned")
    await api("GET", "projects", "default", "datasets")  # the home exists
    before = set(mllab_home.parent.rglob("*"))
    status, error = await upload("evil", {"evil.zip": buf.getvalue()}, extract=True)
    assert status == 400
    assert error["reason"] == "unsafe_archive"
    assert "outside" in error["message"]
    _, listing = await api("GET", "projects", "default", "datasets")
    assert listing["datasets"] == []
    new = set(mllab_home.parent.rglob("*")) - before
    assert not [p for p in new if "escaped" in p.name]
    assert [p for p in new if mllab_home not in p.parents] == []


async def test_resume_after_an_interrupted_chunk(api: Any, jp_fetch: Any) -> None:
    data = bytes(range(256)) * 100
    _, session = await api(
        "POST",
        "projects",
        "default",
        "uploads",
        body={"name": "r", "files": [{"path": "r.bin", "size": len(data)}]},
    )
    base = ("mllab", "api", "projects", "default", "uploads", session["id"], "files", "0")
    r = await jp_fetch(*base, method="PUT", body=data[:1000], params={"offset": "0"})
    assert json.loads(r.body)["received"] == 1000
    # a client that lost track sends the wrong offset: 409 says where to resume
    r = await jp_fetch(
        *base, method="PUT", body=data[:10], params={"offset": "0"}, raise_error=False
    )
    assert r.code == 409
    assert "resume from 1,000" in json.loads(r.body)["message"]
    _, status = await api("GET", "projects", "default", "uploads", session["id"])
    assert status["received"] == 1000
    # committing early is refused and loses nothing
    code, err = await api("POST", "projects", "default", "uploads", session["id"], "commit")
    assert (code, err["reason"]) == (400, "incomplete")
    await jp_fetch(*base, method="PUT", body=data[1000:], params={"offset": "1000"})
    code, v = await api("POST", "projects", "default", "uploads", session["id"], "commit")
    assert code == 201
    assert v["sha256"] == hashlib.sha256(data).hexdigest()


class TestLimits:
    @pytest.fixture
    def mllab_config(self) -> dict[str, Any]:
        return {"max_upload_size": 1000}

    async def test_too_large_gets_413(self, api: Any, upload: Any) -> None:
        status, error = await upload("big", {"big.bin": b"x" * 1001})
        assert status == 413
        assert "limit is 1,000 bytes" in error["message"]

    async def test_more_bytes_than_declared_gets_413(self, api: Any, jp_fetch: Any) -> None:
        _, session = await api(
            "POST",
            "projects",
            "default",
            "uploads",
            body={"name": "liar", "files": [{"path": "l.bin", "size": 10}]},
        )
        r = await jp_fetch(
            "mllab",
            "api",
            "projects",
            "default",
            "uploads",
            session["id"],
            "files",
            "0",
            method="PUT",
            body=b"y" * 50,
            params={"offset": "0"},
            raise_error=False,
        )
        assert r.code == 413
        _, listing = await api("GET", "projects", "default", "datasets")
        assert listing["datasets"] == []


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ({"name": "a/b", "files": [{"path": "x", "size": 1}]}, 400, "invalid_name"),
        ({"name": "nul\x00", "files": [{"path": "x", "size": 1}]}, 400, "invalid_name"),
        ({"name": "ok", "files": []}, 400, "no_files"),
        ({"name": "ok", "files": [{"path": "x", "size": -1}]}, 400, "bad_file"),
        ({"name": "ok", "files": [{"path": "..", "size": 1}]}, 400, "invalid_filename"),
        (
            {"name": "ok", "folder": True, "files": [{"path": "../x", "size": 1}]},
            400,
            "unsafe_archive",
        ),
        (
            {"name": "ok", "files": [{"path": "x.csv", "size": 1}], "extract": True},
            400,
            "not_archive",
        ),
        ({"name": "ok", "files": [{"path": "x", "size": 1}], "tags": "t"}, 400, "bad_meta"),
    ],
)
async def test_bad_upload_requests(api: Any, body: dict, status: int, reason: str) -> None:
    code, error = await api("POST", "projects", "default", "uploads", body=body)
    assert (code, error["reason"]) == (status, reason), error


@pytest.mark.parametrize(
    "parts",
    [
        ("projects", "default", "datasets", "..%2F..%2Fetc"),
        ("projects", "default", "datasets", "%2e%2e%2f%2e%2e"),
        ("projects", "default", "datasets", "%252e%252e%252f", "versions", "1", "download"),
        ("projects", "..%2Fdefault", "datasets"),
        ("projects", "default", "datasets", "x", "versions", "..%2F1", "download"),
    ],
)
async def test_encoded_traversal_gets_4xx(api: Any, parts: tuple[str, ...]) -> None:
    code, error = await api("GET", *parts)
    assert 400 <= code < 500
    assert set(error) == {"message", "reason"}


async def test_delete_version_and_dataset(api: Any, upload: Any, mllab_home: Path) -> None:
    await upload("d", {"d.txt": b"one"})
    await upload("d", {"d.txt": b"two"})
    code, _ = await api("DELETE", "projects", "default", "datasets", "d", "versions", "1")
    assert code == 204
    code, _ = await api("GET", "projects", "default", "datasets", "d", "versions", "1")
    assert code == 404
    code, _ = await api("DELETE", "projects", "default", "datasets", "d")
    assert code == 204
    assert not list(mllab_home.glob("projects/*/datasets/blobs/*/*"))


async def test_project_counts_and_forced_delete(api: Any, upload: Any) -> None:
    await api("POST", "projects", body={"name": "p"})
    await upload("d", {"d.txt": b"x"}, project="p")
    _, project = await api("GET", "projects", "p")
    assert project["counts"]["datasets"] == 1
    code, error = await api("DELETE", "projects", "p")
    assert (code, error["reason"]) == (409, "not_empty")
    assert "1 dataset." in error["message"]
    code, _ = await api("DELETE", "projects", "p", params={"force": "true"})
    assert code == 204
    await api("POST", "projects", body={"name": "p"})
    _, listing = await api("GET", "projects", "p", "datasets")
    assert listing["datasets"] == []


async def test_upload_as_dataset_from_the_jupyter_root(
    api: Any, jp_root_dir: Path, tmp_path: Path
) -> None:
    (jp_root_dir / "data").mkdir()
    (jp_root_dir / "data" / "wine.csv").write_bytes(CSV)
    code, v = await api(
        "POST", "projects", "default", "datasets", body={"path": "data/wine.csv", "tags": ["uci"]}
    )
    assert code == 201, v
    assert (v["key"], v["tags"], v["sha256"]) == (
        "default/wine@1",
        ["uci"],
        hashlib.sha256(CSV).hexdigest(),
    )
    code, v = await api(
        "POST", "projects", "default", "datasets", body={"path": "data", "name": "d"}
    )
    assert (code, v["kind"], v["file_count"]) == (201, "folder", 1)
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    (jp_root_dir / "link.txt").symlink_to(outside)
    for path in ("../secret.txt", "link.txt", "data/../../secret.txt", "data/../.."):
        code, error = await api("POST", "projects", "default", "datasets", body={"path": path})
        assert (code, error["reason"]) == (400, "outside_root"), (path, error)
    # paths are relative to the root, as in JupyterLab, even with a leading slash
    for path in ("nope.csv", "/etc/passwd"):
        code, error = await api("POST", "projects", "default", "datasets", body={"path": path})
        assert (code, error["reason"]) == (404, "no_path")


async def test_big_chunks_and_a_dropped_connection(
    api: Any, jp_fetch: Any, jp_serverapp: Any, jp_http_port: int, jp_base_url: str
) -> None:
    """Chunks that cross the writer's 8 MiB buffers end on odd offsets; a client that goes
    away in the middle of a chunk keeps what arrived and resumes from there."""
    import asyncio
    import os as _os

    data = _os.urandom(21 * 2**20 + 1234)
    _, session = await api(
        "POST",
        "projects",
        "default",
        "uploads",
        body={"name": "big", "files": [{"path": "big.bin", "size": len(data)}]},
    )
    parts = ("projects", "default", "uploads", session["id"], "files", "0")
    first = 9 * 2**20 + 7
    r = await jp_fetch(
        "mllab", "api", *parts, method="PUT", body=data[:first], params={"offset": "0"}
    )
    assert json.loads(r.body)["received"] == first
    # a raw client announces 6 MiB more and sends 4 MiB + 3 bytes before it goes away
    sent = 4 * 2**20 + 3
    _reader, writer = await asyncio.open_connection("127.0.0.1", jp_http_port)
    path = f"{jp_base_url}mllab/api/{'/'.join(parts)}?offset={first}"
    token = jp_serverapp.identity_provider.token
    writer.write(
        f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: token {token}\r\n"
        f"Content-Length: {6 * 2**20}\r\n\r\n".encode()
        + data[first : first + sent]
    )
    await writer.drain()
    await asyncio.sleep(1.0)
    writer.close()
    await asyncio.sleep(0.5)
    _, status = await api("GET", "projects", "default", "uploads", session["id"])
    assert status["received"] == first + sent
    at = first + sent
    await jp_fetch("mllab", "api", *parts, method="PUT", body=data[at:], params={"offset": str(at)})
    code, version = await api("POST", "projects", "default", "uploads", session["id"], "commit")
    assert code == 201, version
    assert version["sha256"] == hashlib.sha256(data).hexdigest()
    assert version["size"] == len(data)
