"""Datasets: upload throughput through the REST API against its floor, and preview
latency against pandas.

An upload hashes every byte (content addressing) and writes every byte to the lab's disk,
so two floors bound it: hashlib's sha256 of the same file, and writing the same bytes to
the same disk the lab uses, the way the lab's writer does (O_DIRECT from page-aligned
buffers, then fsync). The slower of the two is the floor the ratio is taken against.

At its default size it makes a 1 GB CSV and the same data as Parquet (once; reused from
bench/.fixtures), starts a Jupyter server with the extension on 127.0.0.1, and in one run:
- uploads the CSV through the chunked REST API (begin, PUT chunks, commit with the
  file's sha256, as the Datasets panel does) and times it;
- times hashlib.sha256 over the same file (read + hash: the hash floor);
- times writing the same file into the lab's home (read + O_DIRECT write + fsync: the
  write floor);
- times GET .../preview of the CSV and of the Parquet version (median of 20 requests)
  and pandas.read_csv(nrows=100) on the same CSV.

Last line (floor_MBps is the slower of hash_MBps and write_MBps; ratio is upload/floor):
datasets: upload_MBps=… floor_MBps=… ratio=… hash_MBps=… write_MBps=… csv_preview_ms=…
parquet_preview_ms=… pandas_head_ms=…
"""

from __future__ import annotations

import argparse
import hashlib
import mmap
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from labserver import TOKEN, LabServer

HERE = Path(__file__).parent
FIXTURES = HERE / ".fixtures"
CHUNK = 128 << 20


def make_fixtures(size_mb: int) -> tuple[Path, Path]:
    """A CSV of about ``size_mb`` MB and the same rows as Parquet (made once)."""
    FIXTURES.mkdir(exist_ok=True)
    csv_path = FIXTURES / f"table-{size_mb}mb.csv"
    parquet_path = csv_path.with_suffix(".parquet")
    if not csv_path.exists():
        import numpy as np

        print(f"making {csv_path} ...", flush=True)
        rng = np.random.default_rng(0)
        rows = 200_000
        block_id = 0
        tmp = csv_path.with_suffix(".tmp")
        with open(tmp, "w") as f:
            f.write("id,city,value,score,flag,when\n")
            cities = np.array(["Berlin", "Lisbon", "Oslo", "Quito", "Seoul", "Tunis"])
            while f.tell() < size_mb * 1_000_000:
                ids = np.arange(block_id * rows, (block_id + 1) * rows)
                city = cities[rng.integers(0, len(cities), rows)]
                value = rng.normal(100, 15, rows).round(4)
                score = rng.integers(0, 1000, rows)
                flag = rng.integers(0, 2, rows).astype(bool)
                lines = [
                    f"{i},{c},{v},{s},{'true' if b else 'false'},2024-01-{1 + i % 28:02d}"
                    for i, c, v, s, b in zip(ids, city, value, score, flag, strict=True)
                ]
                f.write("\n".join(lines) + "\n")
                block_id += 1
        tmp.rename(csv_path)
    if not parquet_path.exists():
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        print(f"making {parquet_path} ...", flush=True)
        table = pacsv.read_csv(csv_path)
        pq.write_table(table, parquet_path, row_group_size=1_000_000)
    return csv_path, parquet_path


class Server(LabServer):
    def __init__(self) -> None:
        super().__init__(Path(tempfile.mkdtemp(prefix="mllab-bench-ds-")), timeout=60)

    def upload(self, path: Path, name: str, sha256: str | None = None) -> dict:
        size = path.stat().st_size
        spec = {"name": name, "files": [{"path": path.name, "size": size}]}
        session = self.call("POST", "/mllab/api/projects/default/uploads", spec)
        base = f"/mllab/api/projects/default/uploads/{session['id']}"
        conn = self.conn()
        with open(path, "rb") as f:
            offset = 0
            while offset < size:
                n = min(CHUNK, size - offset)
                conn.putrequest("PUT", f"{base}/files/0?offset={offset}")
                conn.putheader("Authorization", f"token {TOKEN}")
                conn.putheader("Content-Length", str(n))
                conn.endheaders()
                conn.sock.sendfile(f, offset, n)  # zero-copy, as a browser would stream
                response = conn.getresponse()
                body = response.read()
                if response.status != 200:
                    raise RuntimeError(f"chunk at {offset}: {response.status} {body[:300]!r}")
                offset += n
        return self.call("POST", f"{base}/commit", {"sha256": [sha256]})

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.root, ignore_errors=True)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(4 << 20):
            h.update(block)
    return h.hexdigest()


def write_file(source: Path, folder: Path) -> None:
    """Copy ``source`` into ``folder`` as the lab's writer stores an upload: O_DIRECT from
    a page-aligned 8 MiB buffer (buffered where the file system refuses it), an unaligned
    tail written buffered, then fsync."""
    target = folder / f"write-floor-{os.getpid()}.tmp"
    buffer = mmap.mmap(-1, 8 << 20)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    try:
        try:
            fd = os.open(target, flags | getattr(os, "O_DIRECT", 0), 0o644)
        except OSError:
            fd = os.open(target, flags, 0o644)
        try:
            offset = 0
            with open(source, "rb", buffering=0) as f:
                while n := f.readinto(buffer):
                    aligned = n - n % 4096
                    with memoryview(buffer) as view:
                        if aligned:
                            os.pwrite(fd, view[:aligned], offset)
                        if n > aligned:
                            tail = bytes(view[aligned:n])
                            with open(target, "r+b") as t:
                                t.seek(offset + aligned)
                                t.write(tail)
                                t.flush()
                                os.fsync(t.fileno())
                    offset += n
            os.fsync(fd)
        finally:
            os.close(fd)
    finally:
        buffer.close()
        target.unlink(missing_ok=True)


def median_ms(fn, n: int = 20) -> float:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=int, default=1000)
    args = parser.parse_args()
    csv_path, parquet_path = make_fixtures(args.size_mb)
    size = csv_path.stat().st_size
    expected = sha256_file(csv_path)  # warms the page cache for every contestant

    server = Server()
    try:
        t = time.perf_counter()
        version = server.upload(csv_path, "table", expected)
        upload_s = time.perf_counter() - t
        t = time.perf_counter()
        digest = sha256_file(csv_path)
        hash_s = time.perf_counter() - t
        assert version["sha256"] == digest, "the upload's sha256 differs from hashlib's"
        home = server.root / ".mllab"  # the lab's home: the disk its uploads go to
        t = time.perf_counter()
        write_file(csv_path, home)
        write_s = time.perf_counter() - t
        server.upload(parquet_path, "table-parquet")

        csv_ms = median_ms(
            lambda: server.call(
                "GET", "/mllab/api/projects/default/datasets/table/versions/1/preview"
            )
        )
        pq_ms = median_ms(
            lambda: server.call(
                "GET", "/mllab/api/projects/default/datasets/table-parquet/versions/1/preview"
            )
        )
    finally:
        server.stop()
    import pandas as pd

    pandas_ms = median_ms(lambda: pd.read_csv(csv_path, nrows=100))
    upload_mbps = size / upload_s / 1e6
    hash_mbps = size / hash_s / 1e6
    write_mbps = size / write_s / 1e6
    floor_mbps = min(hash_mbps, write_mbps)
    print(
        f"file: {size / 1e6:.0f} MB; upload {upload_s:.2f} s; sha256 {hash_s:.2f} s; "
        f"write to the lab's disk {write_s:.2f} s"
    )
    print(
        f"datasets: upload_MBps={upload_mbps:.0f} floor_MBps={floor_mbps:.0f} "
        f"ratio={upload_mbps / floor_mbps:.2f} hash_MBps={hash_mbps:.0f} "
        f"write_MBps={write_mbps:.0f} csv_preview_ms={csv_ms:.1f} "
        f"parquet_preview_ms={pq_ms:.1f} pandas_head_ms={pandas_ms:.1f}"
    )


if __name__ == "__main__":
    main()
