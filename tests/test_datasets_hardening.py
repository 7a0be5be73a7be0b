"""Small hostile inputs to previews, archives and statistics: a clear 4xx in bounded memory.

Each case ends with the server still answering and nothing stored changed.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import io
import os
import signal
import struct
import tarfile
import tracemalloc
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import test_datasets_handlers

from jupyter_mllab.datasets.archives import ArchiveLimits, extract, list_members
from jupyter_mllab.datasets.blobs import BlobStore
from jupyter_mllab.errors import MLLabError

MB = 2**20
upload = test_datasets_handlers.upload  # the chunked-upload fixture


# -- crafted archives ---------------------------------------------------------------------
def _header(name: str, size: int, kind: bytes) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.type = size, kind
    return info.tobuf(format=tarfile.USTAR_FORMAT)


def _pax_record(size: int) -> Iterator[bytes]:
    """One valid PAX record ``"<len> comment=aaa...\\n"`` of exactly ``size`` bytes, streamed."""
    fill = size - len(f"{size} comment=\n")
    yield f"{size} comment=".encode()
    while fill > 0:
        n = min(fill, MB)
        yield b"a" * n
        fill -= n
    yield b"\n"


def _extension(kind: bytes, size: int) -> Iterator[bytes]:
    """One extension header (PAX 'x' or GNU long name 'L') whose body holds ``size`` bytes."""
    yield _header(
        "././@PaxHeader" if kind != tarfile.GNUTYPE_LONGNAME else "././@LongLink", size, kind
    )
    if kind == tarfile.GNUTYPE_LONGNAME:
        body: Iterator[bytes] = iter([b"n" * (size - 1), b"\0"])
    else:
        body = _pax_record(size)
    yield from body
    yield b"\0" * (-size % 512)


def crafted_tar(path: Path, *, extensions: list[tuple[bytes, int]]) -> Path:
    """A .tar.gz: the given extension headers in front of one small regular file."""
    with gzip.open(path, "wb", compresslevel=6) as gz:
        for kind, size in extensions:
            for block in _extension(kind, size):
                gz.write(block)
        gz.write(_header("data.txt", 5, tarfile.REGTYPE) + b"hello" + b"\0" * 507)
        gz.write(b"\0" * 1024)
    return path


def peak_of(fn: Any) -> tuple[int, Any]:
    """(peak bytes Python allocated while ``fn()`` ran, its result or exception)."""
    tracemalloc.start()
    try:
        try:
            result: Any = fn()
        except Exception as exc:
            result = exc
        return tracemalloc.get_traced_memory()[1], result
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("kind", [tarfile.XHDTYPE, tarfile.GNUTYPE_LONGNAME], ids=["pax", "gnu"])
def test_huge_tar_headers_are_refused_in_bounded_memory(tmp_path: Path, kind: bytes) -> None:
    archive = crafted_tar(tmp_path / "h.tar.gz", extensions=[(kind, 128 * MB)])
    assert archive.stat().st_size < 1 * MB  # a tiny archive whose header expands to 128 MB
    peak, result = peak_of(lambda: list_members(archive, "h.tar.gz"))
    assert isinstance(result, MLLabError) and 400 <= result.status < 500, result
    assert result.reason == "unsafe_archive"
    assert peak < 8 * MB, f"listing held {peak / MB:.0f} MB"

    blobs = BlobStore(tmp_path / "store")
    peak, result = peak_of(lambda: extract(archive, "h.tar.gz", blobs, ArchiveLimits()))
    assert isinstance(result, MLLabError) and 400 <= result.status < 500, result
    assert peak < 8 * MB, f"extracting held {peak / MB:.0f} MB"
    assert list(blobs.tmp_dir.glob("*")) == []


def test_tar_header_bytes_count_against_the_budget(tmp_path: Path) -> None:
    # 60 KB of PAX header (under the per-header cap) in front of a 5-byte file
    archive = crafted_tar(tmp_path / "p.tar.gz", extensions=[(tarfile.XHDTYPE, 60_000)])
    blobs = BlobStore(tmp_path / "store")
    with pytest.raises(MLLabError) as caught:
        extract(archive, "p.tar.gz", blobs, ArchiveLimits(max_ratio=20))
    assert (caught.value.status, caught.value.reason) == (413, "archive_too_large")
    # the same archive under a generous budget is fine
    files = extract(archive, "p.tar.gz", blobs, ArchiveLimits(max_ratio=10_000))
    assert [(f.path, f.size) for f in files] == [("data.txt", 5)]


def test_a_chain_of_tar_headers_is_refused(tmp_path: Path) -> None:
    archive = crafted_tar(tmp_path / "c.tar.gz", extensions=[(tarfile.XHDTYPE, 100)] * 3000)
    with pytest.raises(MLLabError) as caught:
        list_members(archive, "c.tar.gz")
    assert caught.value.status == 400
    with pytest.raises(MLLabError) as caught:
        extract(archive, "c.tar.gz", BlobStore(tmp_path / "store"), ArchiveLimits())
    assert caught.value.status == 400


def _sparse_member(blocks: int) -> bytes:
    """A GNU sparse member whose map goes on for ``blocks`` extension blocks."""
    info = tarfile.TarInfo("sparse.bin")
    info.type = tarfile.GNUTYPE_SPARSE
    head = bytearray(info.tobuf(format=tarfile.GNU_FORMAT))
    head[482] = 1  # isextended
    head[148:156] = b" " * 8
    head[148:156] = b"%06o\0 " % sum(head)
    struct_ = b"%011o\0%011o\0" % (1, 1)
    block = struct_ * 21 + b"\1" + b"\0" * 7
    last = struct_ * 21 + b"\0" * 8
    return bytes(head) + block * (blocks - 1) + last


def test_gnu_sparse_maps_are_refused(tmp_path: Path) -> None:
    archive = tmp_path / "s.tar.gz"
    with gzip.open(archive, "wb") as gz:
        gz.write(_sparse_member(50_000) + b"\0" * 1024)  # 25 MB of map, a million entries
    assert archive.stat().st_size < 1 * MB
    peak, result = peak_of(lambda: list_members(archive, "s.tar.gz"))
    assert isinstance(result, MLLabError) and result.status == 400, result
    assert "sparse" in result.message
    assert peak < 8 * MB, f"listing held {peak / MB:.0f} MB"
    with pytest.raises(MLLabError, match="sparse"):
        extract(archive, "s.tar.gz", BlobStore(tmp_path / "store"), ArchiveLimits())


def test_listing_many_long_names_holds_one_at_a_time(tmp_path: Path) -> None:
    archive = tmp_path / "names.tar.gz"
    with gzip.open(archive, "wb") as gz:
        for i in range(1000):  # 1000 members with 60 KB GNU long names: 60 MB of headers
            for block in _extension(tarfile.GNUTYPE_LONGNAME, 60_000):
                gz.write(block)
            gz.write(_header(f"f{i}", 0, tarfile.REGTYPE))
        gz.write(b"\0" * 1024)
    limits = ArchiveLimits(max_ratio=1e6)
    peak, result = peak_of(lambda: list_members(archive, "names.tar.gz", limits=limits))
    assert not isinstance(result, Exception), result
    assert len(result["files"]) == 1000
    assert max(len(f["path"]) for f in result["files"]) <= 1025  # shown cut, with an ellipsis
    # (the stdlib decompresses 10 KB of input at a time: up to about 10 MB of zeros at once)
    assert peak < 20 * MB, f"listing held {peak / MB:.0f} MB"


async def _dataset_answers(api: Any) -> None:
    status, listing = await api("GET", "projects", "default", "datasets")
    assert status == 200, listing


async def test_previews_of_hostile_and_corrupt_archives_get_4xx(
    api: Any, upload: Any, tmp_path: Path
) -> None:
    crafted = crafted_tar(tmp_path / "h.tar.gz", extensions=[(tarfile.XHDTYPE, 64 * MB)])
    good = io.BytesIO()
    with tarfile.open(fileobj=good, mode="w:gz") as tf:
        info = tarfile.TarInfo("a.txt")
        info.size = 1
        tf.addfile(info, io.BytesIO(b"a"))
    cases = {
        "hostile.tar.gz": (crafted.read_bytes(), "unsafe_archive"),
        "corrupt.zip": (b"PK\x03\x04 not really a zip", "bad_archive"),
        "corrupt.tar.gz": (good.getvalue()[:30], "bad_archive"),
        "corrupt.tar": (b"\x01" * 1500, "bad_archive"),
    }
    for filename, (data, reason) in cases.items():
        name = filename.replace(".", "-")
        status, v = await upload(name, {filename: data})
        assert status == 201, v
        status, body = await api(
            "GET", "projects", "default", "datasets", name, "versions", "1", "preview"
        )
        assert 400 <= status < 500, (filename, status, body)
        assert body["reason"] == reason, (filename, body)
        assert body["message"]
    status, body = await api(
        "POST", "projects", "default", "datasets", "hostile-tar-gz", "versions", "1", "extract"
    )
    assert status == 400 and body["reason"] == "unsafe_archive", body
    await _dataset_answers(api)
    _, versions = await api("GET", "projects", "default", "datasets", "hostile-tar-gz")
    assert [v["version"] for v in versions["versions"]] == [1]  # nothing added


# -- the statistics worker ----------------------------------------------------------------
async def _stats(api: Any, name: str, timeout: float = 60) -> dict[str, Any]:
    """Poll a version's statistics until they are no longer pending (worker start: seconds)."""
    path = ("projects", "default", "datasets", name, "versions", "1", "stats")
    for _ in range(int(timeout * 10)):
        status, stats = await api("GET", *path)
        assert status == 200, stats
        if stats["status"] != "pending":
            return stats
        await asyncio.sleep(0.1)
    raise AssertionError(f"statistics of {name} still pending after {timeout} s")


def _worker_pids(lab: Any) -> list[int]:
    pool = lab.datasets._background
    return list(pool._processes) if pool is not None else []


async def test_a_killed_stats_worker_is_replaced(
    api: Any, upload: Any, jp_serverapp: Any, mllab_home: Path
) -> None:
    lab = jp_serverapp.web_app.settings["mllab"]
    big = b"a,b\n" + b"".join(b"%d,%d\n" % (i, i * 2) for i in range(40_000))  # > preview head
    for name, data in {"one": b"a,b\n1,2\n3,4\n", "two": b"a,b\n5,6\n", "big": big}.items():
        status, v = await upload(name, {f"{name}.csv": data})
        assert status == 201, v
    assert (await _stats(api, "one"))["status"] == "done"
    [pid] = _worker_pids(lab)
    os.kill(pid, signal.SIGKILL)
    for _ in range(100):  # the pool sees its worker gone
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            break
        await asyncio.sleep(0.05)

    two = await _stats(api, "two")  # a new worker, not a 500
    assert two["status"] == "done", two
    assert [c["name"] for c in two["columns"]] == ["a", "b"]
    assert (await _stats(api, "one"))["status"] == "done"  # cached
    [new] = _worker_pids(lab)
    assert new != pid
    # an uncached CSV's preview still answers, and its row count arrives from the new worker
    for _ in range(600):
        status, preview = await api(
            "GET", "projects", "default", "datasets", "big", "versions", "1", "preview"
        )
        assert status == 200, preview
        if preview["total_rows"] is not None:
            break
        await asyncio.sleep(0.1)
    assert preview["total_rows"] == 40_000
    # killed again while idle: the next request still gets a worker
    os.kill(new, signal.SIGKILL)
    await asyncio.sleep(0.5)
    status, v = await upload("three", {"three.csv": b"x\n1\n"})
    assert (await _stats(api, "three"))["status"] == "done"
    await _dataset_answers(api)


async def test_the_stats_worker_has_a_memory_limit(
    api: Any, upload: Any, jp_serverapp: Any
) -> None:
    lab = jp_serverapp.web_app.settings["mllab"]
    await upload("one", {"one.csv": b"a,b\n1,2\n"})
    assert (await _stats(api, "one"))["status"] == "done"
    [pid] = _worker_pids(lab)
    limit = psutil.Process(pid).rlimit(psutil.RLIMIT_DATA)[0]
    assert limit != psutil.RLIM_INFINITY
    assert limit <= 4 * 2**30


def test_wide_csv_statistics_are_read_by_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pandas  # noqa: F401 (imported before measuring)

    from jupyter_mllab.datasets import stats

    def write(path: Path, cols: int, rows: int) -> Path:
        with open(path, "w") as f:
            f.write(",".join(f"c{i}" for i in range(cols)) + "\n")
            f.write((",".join(str(i % 7) for i in range(cols)) + "\n") * rows)
        return path

    monkeypatch.setattr(stats, "CHUNK_BYTES", 2 * MB, raising=False)
    stats.compute_stats(write(tmp_path / "warm.csv", 100, 10), "warm.csv", "")  # pandas' caches
    wide = write(tmp_path / "wide.csv", 100, 12000)
    peak, result = peak_of(lambda: stats.compute_stats(wide, "wide.csv", "text/csv"))
    assert result["status"] == "done", result
    assert result["rows"] == 12000 and len(result["columns"]) == 100
    assert result["columns"][3]["mean"] == pytest.approx(3.0)
    # all 12000 rows at once are 100 * 12000 * 8 bytes = 9.6 MB of int64 alone
    assert peak < 6 * MB, f"statistics held {peak / MB:.1f} MB"


# -- images ---------------------------------------------------------------------------------
def uniform_png(path: Path, width: int, height: int) -> Path:
    """A one-colour greyscale PNG, written row by row: tiny on disk, huge decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    pack = zlib.compressobj(9)
    row = b"\0" * (width + 1)  # filter byte 0, then the pixels
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)))
        parts = [pack.compress(row * 100) for _ in range(height // 100)]
        parts.append(pack.compress(row * (height % 100)) + pack.flush())
        f.write(chunk(b"IDAT", b"".join(parts)))
        f.write(chunk(b"IEND", b""))
    return path


def _preview(api: Any, name: str) -> Any:
    return api("GET", "projects", "default", "datasets", name, "versions", "1", "preview")


async def test_image_bombs_get_413_not_500(api: Any, upload: Any, tmp_path: Path) -> None:
    bomb = uniform_png(tmp_path / "bomb.png", 20_000, 20_000)  # 400 M pixels
    big = uniform_png(tmp_path / "big.png", 12_000, 12_000)  # 144 M: under Pillow's own cap
    assert bomb.stat().st_size < 1 * MB and big.stat().st_size < 1 * MB
    for name, path in {"bomb": bomb, "big": big}.items():
        status, v = await upload(name, {f"{name}.png": path.read_bytes()})
        assert status == 201, v
        status, body = await _preview(api, name)
        assert status == 413, (name, status, body)
        assert body["reason"] == "image_too_large"
        assert "pixels" in body["message"]
    await _dataset_answers(api)


async def test_big_jpeg_previews_as_a_small_thumbnail(api: Any, upload: Any) -> None:
    from PIL import Image

    out = io.BytesIO()
    Image.new("L", (6000, 6000), 128).save(out, format="JPEG")  # 36 M pixels, decoded at 1/8
    await upload("photo", {"photo.jpg": out.getvalue()})
    status, body = await _preview(api, "photo")
    assert status == 200, body
    assert (body["width"], body["height"]) == (6000, 6000)
    thumb = Image.open(io.BytesIO(base64.b64decode(body["thumbnail"].split(",", 1)[1])))
    assert max(thumb.size) <= 320


async def test_thumbnails_are_cached_by_content(
    api: Any, upload: Any, jp_serverapp: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import Image

    from jupyter_mllab.datasets import preview, service

    decodes: list[Path] = []

    def counted(path: Path) -> dict[str, Any]:
        decodes.append(path)
        return preview.preview_image(path)

    monkeypatch.setattr(service, "preview_image", counted)
    lab = jp_serverapp.web_app.settings["mllab"]
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (10, 200, 30)).save(out, format="PNG")
    status, v = await upload("pic", {"pic.png": out.getvalue()})
    # ten previews at once: each answers, and one decode serves them all
    replies = await asyncio.gather(*[_preview(api, "pic") for _ in range(10)])
    assert {status for status, _ in replies} == {200}
    assert len({body["thumbnail"] for _, body in replies}) == 1
    assert len(decodes) == 1
    cached = lab.datasets.cache.get(v["sha256"], "thumbnails")
    assert cached is not None and cached["thumbnail"] == replies[0][1]["thumbnail"]
    # the next preview reads the cache, not the image
    lab.datasets.cache.put(
        v["sha256"], {**cached, "thumbnail": "data:image/png;base64,"}, "thumbnails"
    )
    status, body = await _preview(api, "pic")
    assert (status, body["thumbnail"], body["width"]) == (200, "data:image/png;base64,", 800)
    assert body["filename"] == "pic.png"


# -- other inputs that gave a 500 ---------------------------------------------------------
async def test_deeply_nested_json_previews_get_400(api: Any, upload: Any) -> None:
    cases = {
        "deep.json": b"[" * 100_000 + b"]" * 100_000,  # past the parser's recursion limit
        "middling.json": b'{"a":' * 600 + b"1" + b"}" * 600,  # parses; too deep to show
        "records.json": b'[{"x": ' + b"[" * 900 + b"]" * 900 + b"}]",
    }
    for filename, data in cases.items():
        name = filename.replace(".", "-")
        await upload(name, {filename: data})
        status, body = await _preview(api, name)
        assert status == 400, (filename, status, body)
        assert body["reason"] == "too_deep" and "nested" in body["message"]
    # a JSON Lines file shows a too-deep line as its text, like a line that is not JSON
    await upload("lines", {"lines.jsonl": b'{"a": 1}\n' + b"[" * 5000 + b"]" * 5000 + b"\n"})
    status, body = await _preview(api, "lines")
    assert status == 200, body
    assert body["text"].startswith('{"a": 1}\n"[[[')
    # a shallow document is still previewed
    await upload("flat", {"flat.json": b'[{"a": [1, [2, [3]]]}]'})
    status, body = await _preview(api, "flat")
    assert (status, body["rows"]) == (200, [[[1, [2, [3]]]]])
    await _dataset_answers(api)


async def test_a_csv_field_over_the_csv_limit_gets_400(api: Any, upload: Any) -> None:
    await upload("wide", {"wide.csv": b"a,b\n" + b"x" * 200_000 + b",1\n"})
    status, body = await _preview(api, "wide")
    assert status == 400, body
    assert body["reason"] == "bad_csv" and "field" in body["message"]
    await _dataset_answers(api)


async def test_download_of_a_file_whose_name_holds_a_newline(
    api: Any, jp_fetch: Any, jp_serverapp: Any
) -> None:
    from jupyter_mllab.datasets.blobs import HashingWriter, Staged
    from jupyter_mllab.datasets.store import NewVersion

    # a name stored before names were checked (the upload API may refuse it now)
    datasets = jp_serverapp.web_app.settings["mllab"].datasets
    await jp_serverapp.web_app.settings["mllab"].ready()
    project = datasets.projects.get("default")
    blobs = datasets.store.blobs(project)
    writer = HashingWriter(blobs.new_temp("t-"))
    writer.write(b"1,2\n")
    sha, size = writer.close()
    name = "two\nlines\r.csv"
    staged = Staged(name, sha, size, writer.path)
    datasets.store.add_version(project, "nl", NewVersion(filename=name), blob=staged)

    response = await jp_fetch(
        "mllab",
        "api",
        "projects",
        "default",
        "datasets",
        "nl",
        "versions",
        "1",
        "download",
        raise_error=False,
    )
    assert response.code == 200, response.body
    assert response.body == b"1,2\n"
    disposition = response.headers["Content-Disposition"]
    assert "\n" not in disposition and "\r" not in disposition
    assert disposition.startswith('attachment; filename="two_lines_.csv"')
    assert "filename*=UTF-8''two%0Alines%0D.csv" in disposition
    await _dataset_answers(api)
