"""Small hostile inputs to previews, archives and statistics: a clear 4xx in bounded memory.

Each case ends with the server still answering and nothing stored changed.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
    # 600 KB of PAX header (under the per-header cap) in front of a 5-byte file
    archive = crafted_tar(tmp_path / "p.tar.gz", extensions=[(tarfile.XHDTYPE, 600_000)])
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
