"""Uploads and stored versions that cannot be corrupted: overlapping or resumed chunk
requests, the client's sha256 checked at commit, cached copies that cannot write through."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

MiB = 1 << 20


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, Any]:
    """(status, JSON body); (0, None) when the server answered before reading the body and
    closed the connection (a reset can take its answer with it)."""
    try:
        return await _read_response_or_reset(reader)
    except ConnectionResetError:
        return 0, None


async def _read_response_or_reset(reader: asyncio.StreamReader) -> tuple[int, Any]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 20)
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        if line.lower().startswith("content-length:"):
            length = int(line.split(":", 1)[1])
    body = await asyncio.wait_for(reader.readexactly(length), 20) if length else b""
    return status, json.loads(body) if body else None


class RawClient:
    """PUTs over a plain socket, so that a test decides when each byte of a body goes."""

    def __init__(self, port: int, base_url: str, token: str, upload_id: str):
        self.port, self.base_url, self.token, self.upload_id = port, base_url, token, upload_id

    async def start_put(
        self, offset: int, length: int, first: bytes, chunked: bool = False
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Send the headers and the first bytes of a body of ``length`` bytes (with
        ``chunked``, in HTTP chunked framing: no Content-Length; see ``frame``)."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        path = (
            f"{self.base_url}mllab/api/projects/default/uploads/{self.upload_id}"
            f"/files/0?offset={offset}"
        )
        framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {length}"
        writer.write(
            f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: token {self.token}\r\n"
            f"{framing}\r\n\r\n".encode()
            + (frame(first) if chunked else first)
        )
        await writer.drain()
        return reader, writer


def frame(data: bytes, last: bool = False) -> bytes:
    """``data`` as one HTTP chunk (and the closing empty chunk with ``last``)."""
    out = f"{len(data):x}\r\n".encode() + data + b"\r\n" if data else b""
    return out + (b"0\r\n\r\n" if last else b"")


async def _begin(api: Any, size: int, name: str = "blob") -> str:
    code, session = await api(
        "POST",
        "projects",
        "default",
        "uploads",
        body={"name": name, "files": [{"path": f"{name}.bin", "size": size}]},
    )
    assert code == 201, session
    return str(session["id"])


async def _received(api: Any, upload_id: str) -> int:
    code, status = await api("GET", "projects", "default", "uploads", upload_id)
    assert code == 200, status
    return int(status["files"][0]["received"])


async def _send_rest(jp_fetch: Any, api: Any, upload_id: str, data: bytes, chunk: int) -> None:
    """What the Datasets panel does: PUT from what the server says it has; on a 409, ask
    again and go on from there."""
    offset = await _received(api, upload_id)
    while offset < len(data):
        r = await jp_fetch(
            "mllab",
            "api",
            "projects",
            "default",
            "uploads",
            upload_id,
            "files",
            "0",
            method="PUT",
            body=data[offset : offset + chunk],
            params={"offset": str(offset)},
            raise_error=False,
        )
        if r.code == 200:
            offset = json.loads(r.body)["received"]
        else:
            assert r.code == 409, r.body
            offset = await _received(api, upload_id)


def _stored_blob(home: Path, sha: str) -> Path:
    found = list(home.rglob(f"blobs/{sha[:2]}/{sha}"))
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_resumed_chunk_and_the_dropped_one_do_not_mix(
    api: Any,
    jp_fetch: Any,
    jp_serverapp: Any,
    jp_http_port: int,
    jp_base_url: str,
    mllab_home: Path,
    chunked: bool,
) -> None:
    """A request stalls part-way through its chunk; the client, thinking it dropped,
    resumes from what the server has, while the stalled request's bytes still arrive. The
    two must not both be written: the committed version is byte for byte the file.

    With a Content-Length the body is read straight into the writer's buffer; in chunked
    framing it goes through the request's write queue (flushed every 4 MiB)."""
    chunk, first = 6 * MiB, 4 * MiB
    data = os.urandom(2 * chunk)
    digest = hashlib.sha256(data).hexdigest()
    upload_id = await _begin(api, len(data))
    raw = RawClient(jp_http_port, jp_base_url, jp_serverapp.identity_provider.token, upload_id)
    a_reader, a_writer = await raw.start_put(0, chunk, data[:first], chunked)
    for _ in range(200):
        if await _received(api, upload_id) == first:
            break
        await asyncio.sleep(0.05)
    assert await _received(api, upload_id) == first
    # the client resumes from what the server has, with the rest of the chunk ...
    b_reader, b_writer = await raw.start_put(first, chunk - first, data[first:chunk])
    b_reply = asyncio.ensure_future(_read_response(b_reader))
    await asyncio.sleep(0.5)
    # ... and the stalled request's rest arrives after all
    rest = data[first:chunk]
    a_writer.write(frame(rest, last=True) if chunked else rest)
    await a_writer.drain()
    a_code, _ = await _read_response(a_reader)
    b_code, b_body = await b_reply
    for w in (a_writer, b_writer):
        w.close()
    assert a_code == 200
    assert b_code in (0, 200, 409), (b_code, b_body)
    await _send_rest(jp_fetch, api, upload_id, data, chunk)
    code, version = await api(
        "POST",
        "projects",
        "default",
        "uploads",
        upload_id,
        "commit",
        body={"sha256": [digest]},
    )
    assert code == 201, version
    assert version["sha256"] == digest
    assert hashlib.sha256(_stored_blob(mllab_home, digest).read_bytes()).hexdigest() == digest


async def test_commit_checks_the_clients_sha256(api: Any, jp_fetch: Any, mllab_home: Path) -> None:
    data = os.urandom(3 * MiB + 5)
    digest = hashlib.sha256(data).hexdigest()
    upload_id = await _begin(api, len(data), "checked")
    await _send_rest(jp_fetch, api, upload_id, data, MiB)
    commit = ("POST", "projects", "default", "uploads", upload_id, "commit")

    code, error = await api(*commit, body={"sha256": ["not a digest"]})
    assert (code, error["reason"]) == (400, "bad_sha256"), error
    code, error = await api(*commit, body={"sha256": [digest, digest]})
    assert (code, error["reason"]) == (400, "bad_sha256"), error

    wrong = hashlib.sha256(b"something else").hexdigest()
    code, error = await api(*commit, body={"sha256": [wrong]})
    assert (code, error["reason"]) == (409, "sha256_mismatch"), error
    assert "traceback" not in json.dumps(error).lower()
    # no version, and nothing stored
    code, _ = await api("GET", "projects", "default", "datasets", "checked")
    assert code == 404
    assert not list(mllab_home.rglob("blobs/*/*"))
    # the upload is still there; the file that did not match starts again
    assert await _received(api, upload_id) == 0
    await _send_rest(jp_fetch, api, upload_id, data, MiB)
    code, version = await api(*commit, body={"sha256": [digest]})
    assert code == 201, version
    assert version["sha256"] == digest
    # a client that sends no sha256 still commits (the server's own hash is the version's)
    other = os.urandom(1000)
    upload_id = await _begin(api, len(other), "unchecked")
    await _send_rest(jp_fetch, api, upload_id, other, MiB)
    code, version = await api("POST", "projects", "default", "uploads", upload_id, "commit")
    assert code == 201, version
    assert version["sha256"] == hashlib.sha256(other).hexdigest()


async def test_a_null_sha256_entry_is_unchecked(api: Any, jp_fetch: Any) -> None:
    data = b"a,b\n1,2\n"
    upload_id = await _begin(api, len(data), "maybe")
    await _send_rest(jp_fetch, api, upload_id, data, MiB)
    code, version = await api(
        "POST", "projects", "default", "uploads", upload_id, "commit", body={"sha256": [None]}
    )
    assert code == 201, version


# -- cached copies (mllab.get_dataset) ----------------------------------------------------
@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import jupyter_mllab as mllab
    from jupyter_mllab import client

    home = tmp_path / "home"
    monkeypatch.setenv("MLLAB_HOME", str(home))
    monkeypatch.setattr(client, "_current", None)
    mllab.list_projects()  # creates the default project
    return home


def _scribble(path: Path) -> None:
    """What a kernel can do to a read-only file it owns."""
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        f.write(b"CHANGED")


def test_a_write_through_the_cached_file_leaves_the_version_intact(
    home: Path, tmp_path: Path
) -> None:
    import jupyter_mllab as mllab

    source = tmp_path / "table.csv"
    original = b"a,b\n" + b"1,2\n" * 10_000
    source.write_bytes(original)
    version = mllab.upload_dataset(source)
    sha = version["sha256"]
    cached = mllab.get_dataset(version["key"])
    assert cached.read_bytes() == original
    # an untouched copy is served again, not rebuilt
    assert os.stat(mllab.get_dataset(version["key"])).st_ino == os.stat(cached).st_ino
    _scribble(cached)
    blob = _stored_blob(home, sha)
    assert hashlib.sha256(blob.read_bytes()).hexdigest() == sha
    again = mllab.get_dataset(version["key"])
    assert again.read_bytes() == original
    # not even the file of the first get, which the kernel still holds, became the blob
    assert os.stat(again).st_ino != os.stat(blob).st_ino


def test_a_write_into_a_cached_folder_leaves_the_version_intact(home: Path, tmp_path: Path) -> None:
    import jupyter_mllab as mllab

    folder = tmp_path / "parts"
    (folder / "sub").mkdir(parents=True)
    (folder / "one.txt").write_bytes(b"one")
    (folder / "sub" / "two.txt").write_bytes(b"two" * 1000)
    version = mllab.upload_dataset(folder)
    cached = mllab.get_dataset(version["key"])
    _scribble(cached / "sub" / "two.txt")
    os.chmod(cached, 0o755)
    (cached / "extra.txt").write_text("not in the version")
    for sha in (hashlib.sha256(b"one").hexdigest(), hashlib.sha256(b"two" * 1000).hexdigest()):
        assert hashlib.sha256(_stored_blob(home, sha).read_bytes()).hexdigest() == sha
    again = mllab.get_dataset(version["key"])
    assert sorted(p.relative_to(again).as_posix() for p in again.rglob("*") if p.is_file()) == [
        "one.txt",
        "sub/two.txt",
    ]
    assert (again / "sub" / "two.txt").read_bytes() == b"two" * 1000


def test_upload_dataset_checks_a_given_sha256(home: Path, tmp_path: Path) -> None:
    import jupyter_mllab as mllab
    from jupyter_mllab.errors import Conflict

    source = tmp_path / "wine.csv"
    source.write_bytes(b"alcohol,quality\n12.5,5\n")
    right = hashlib.sha256(source.read_bytes()).hexdigest()
    with pytest.raises(Conflict) as info:
        mllab.upload_dataset(source, sha256=hashlib.sha256(b"other").hexdigest())
    assert info.value.reason == "sha256_mismatch"
    assert mllab.list_datasets() == []
    assert not list(home.rglob("blobs/*/*"))
    assert not list(home.rglob("tmp/*.part"))
    assert mllab.upload_dataset(source, sha256=right.upper())["sha256"] == right


async def test_a_stalled_request_makes_others_wait_not_fail_the_lab(
    api: Any,
    jp_fetch: Any,
    jp_serverapp: Any,
    jp_http_port: int,
    jp_base_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While a request holds a file, a second one for it waits, then gets a 409 it can act
    on; commit waits the same way; other uploads go on meanwhile."""
    from jupyter_mllab.datasets import uploads

    monkeypatch.setattr(uploads, "BUSY_WAIT_S", 0.5)
    data = os.urandom(MiB)
    upload_id = await _begin(api, len(data))
    raw = RawClient(jp_http_port, jp_base_url, jp_serverapp.identity_provider.token, upload_id)
    a_reader, a_writer = await raw.start_put(0, len(data), data[:1000])
    try:
        for _ in range(100):
            if await _received(api, upload_id) == 1000:
                break
            await asyncio.sleep(0.05)
        b_reader, b_writer = await raw.start_put(1000, len(data) - 1000, b"")
        code, error = await _read_response(b_reader)
        b_writer.close()
        assert (code, error["reason"]) == (409, "upload_busy"), error
        code, error = await api("POST", "projects", "default", "uploads", upload_id, "commit")
        assert (code, error["reason"]) == (409, "upload_busy"), error
        # someone else's upload is not held up
        other = os.urandom(5000)
        other_id = await _begin(api, len(other), "other")
        await _send_rest(jp_fetch, api, other_id, other, MiB)
        code, version = await api("POST", "projects", "default", "uploads", other_id, "commit")
        assert code == 201, version
        a_writer.write(data[1000:])
        await a_writer.drain()
        code, reply = await _read_response(a_reader)
        assert (code, reply["received"]) == (200, len(data))
    finally:
        a_writer.close()
    code, version = await api(
        "POST",
        "projects",
        "default",
        "uploads",
        upload_id,
        "commit",
        body={"sha256": [hashlib.sha256(data).hexdigest()]},
    )
    assert code == 201, version


def test_the_old_hard_linked_cache_is_removed(home: Path, tmp_path: Path) -> None:
    """Earlier releases cached hard links to the blobs; the server removes that cache at
    start (retire_linked_cache), so no old path still writes into stored history."""
    import jupyter_mllab as mllab
    from jupyter_mllab.client.datasets import _datasets
    from jupyter_mllab.datasets.materialize import retire_linked_cache

    source = tmp_path / "t.csv"
    source.write_bytes(b"a\n1\n")
    sha = mllab.upload_dataset(source)["sha256"]
    store = _datasets()
    old = store.cache_dir() / "files" / "abc"
    old.mkdir(parents=True)
    os.link(_stored_blob(home, sha), old / "t.csv")
    os.chmod(old, 0o555)
    retire_linked_cache(store)
    assert not (store.cache_dir() / "files").exists()
    assert _stored_blob(home, sha).read_bytes() == b"a\n1\n"
