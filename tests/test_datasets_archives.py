"""Hostile archives: every one is refused with a clear 4xx and writes nothing outside."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from jupyter_mllab.datasets.archives import ArchiveLimits, extract, safe_member_path
from jupyter_mllab.datasets.blobs import BlobStore
from jupyter_mllab.errors import BadRequest, MLLabError, PayloadTooLarge


def make_zip(path: Path, entries: dict[str, bytes], symlink: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (0o120777 << 16) | 0
            zf.writestr(info, "/etc/passwd")
    return path


def make_tar(path: Path, members: list[tarfile.TarInfo], mode: str = "w") -> Path:
    with tarfile.open(path, mode) as tf:
        for m in members:
            data = b"x" * m.size if m.isfile() else None
            tf.addfile(m, io.BytesIO(data) if data is not None else None)
    return path


def member(
    name: str, kind: bytes = tarfile.REGTYPE, size: int = 1, link: str = ""
) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = size if kind == tarfile.REGTYPE else 0
    info.linkname = link
    return info


@pytest.fixture
def blobs(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "store" / "datasets")


def files_outside(tmp_path: Path, blobs: BlobStore) -> list[Path]:
    inside = blobs.root
    return [
        p
        for p in tmp_path.rglob("*")
        if p.is_file() and inside not in p.parents and p.suffix not in (".zip", ".tar", ".gz")
    ]


def test_a_good_zip_and_tar(tmp_path: Path, blobs: BlobStore) -> None:
    z = make_zip(tmp_path / "ok.zip", {"a/b.txt": b"hello", "./c.csv": b"1,2\n", "d/": b""})
    got = extract(z, "ok.zip", blobs, ArchiveLimits())
    assert sorted(f.path for f in got) == ["a/b.txt", "c.csv"]
    t = make_tar(tmp_path / "ok.tgz", [member("x/y.txt", size=3)], "w:gz")
    got = extract(t, "ok.tgz", blobs, ArchiveLimits())
    assert [(f.path, f.size) for f in got] == [("x/y.txt", 3)]
    assert all(f.temp is not None and blobs.tmp_dir in f.temp.parents for f in got)


@pytest.mark.parametrize(
    "name",
    [
        "../evil.txt",
        "a/../../evil.txt",
        "/etc/evil",
        "C:\\Windows\\evil.txt",
        "C:evil.txt",
        "a\\..\\..\\evil.txt",
    ],
)
def test_zip_traversal_is_refused(tmp_path: Path, blobs: BlobStore, name: str) -> None:
    z = make_zip(tmp_path / "bad.zip", {"fine.txt": b"ok", name: b"pwned"})
    with pytest.raises(BadRequest) as err:
        extract(z, "bad.zip", blobs, ArchiveLimits())
    assert err.value.status == 400
    assert "refusing" in err.value.message
    assert files_outside(tmp_path, blobs) == []
    assert list(blobs.tmp_dir.glob("*")) == []  # the good entry's temp is gone too


def test_zip_symlink_is_refused(tmp_path: Path, blobs: BlobStore) -> None:
    z = make_zip(tmp_path / "link.zip", {"a.txt": b"a"}, symlink="passwd")
    with pytest.raises(BadRequest, match="symbolic link"):
        extract(z, "link.zip", blobs, ArchiveLimits())


@pytest.mark.parametrize(
    ("m", "fragment"),
    [
        (member("link", tarfile.SYMTYPE, link="/etc/passwd"), "link"),
        (member("hard", tarfile.LNKTYPE, link="/etc/passwd"), "link"),
        (member("dev", tarfile.CHRTYPE), "device"),
        (member("blk", tarfile.BLKTYPE), "device"),
        (member("fifo", tarfile.FIFOTYPE), "device"),
        (member("../../up.txt"), "outside"),
        (member("/abs.txt"), "absolute"),
    ],
)
def test_tar_hostile_members(
    tmp_path: Path, blobs: BlobStore, m: tarfile.TarInfo, fragment: str
) -> None:
    t = make_tar(tmp_path / "bad.tar", [member("ok.txt"), m])
    with pytest.raises(BadRequest, match=fragment):
        extract(t, "bad.tar", blobs, ArchiveLimits())
    assert files_outside(tmp_path, blobs) == []
    assert list(blobs.tmp_dir.glob("*")) == []


def test_zip_bomb_is_stopped_while_streaming(tmp_path: Path, blobs: BlobStore) -> None:
    z = make_zip(tmp_path / "bomb.zip", {"zeros.bin": b"\0" * (20 * 2**20)})
    assert z.stat().st_size < 100_000
    with pytest.raises(PayloadTooLarge, match="bomb"):
        extract(z, "bomb.zip", blobs, ArchiveLimits(max_ratio=50))
    assert list(blobs.tmp_dir.glob("*")) == []


def test_tar_gz_bomb_and_caps(tmp_path: Path, blobs: BlobStore) -> None:
    t = make_tar(tmp_path / "bomb.tgz", [member("z.bin", size=20 * 2**20)], "w:gz")
    with pytest.raises(PayloadTooLarge):
        extract(t, "bomb.tgz", blobs, ArchiveLimits(max_ratio=50))
    many = make_zip(tmp_path / "many.zip", {f"f{i}.txt": b"x" for i in range(20)})
    with pytest.raises(PayloadTooLarge, match="entries"):
        extract(many, "many.zip", blobs, ArchiveLimits(max_entries=10))
    big = make_zip(tmp_path / "big.zip", {"a.bin": b"a" * 5000})
    with pytest.raises(PayloadTooLarge):
        extract(big, "big.zip", blobs, ArchiveLimits(max_total_bytes=1000))


def test_damaged_archives(tmp_path: Path, blobs: BlobStore) -> None:
    bad = tmp_path / "x.zip"
    bad.write_bytes(b"PK not really")
    with pytest.raises(BadRequest, match="not a readable zip"):
        extract(bad, "x.zip", blobs, ArchiveLimits())
    bad = tmp_path / "x.tar"
    bad.write_bytes(b"\x01" * 1000)
    with pytest.raises(MLLabError):
        extract(bad, "x.tar", blobs, ArchiveLimits())


def test_member_paths() -> None:
    assert safe_member_path("./a//b/./c.txt") == "a/b/c.txt"
    for bad in ("", ".", "./", "a/../../b", "\\x", "/x", "D:/x", "a\x00"):
        with pytest.raises(BadRequest):
            safe_member_path(bad)
