"""A run's working folder: our layout of a notebook's folder beside a plain recursive copy
of the same folder, in one run on one machine.

The folder: 1,000 small files (1-4 KB, random bytes, in 20 subfolders) and one 1 GB file
(written with zeros, not sparse: a copy really copies it).
- ours: ``jupyter_mllab.jobs.workdir.lay_out`` (reflinks where the filesystem has them,
  else hard links, else symlinks), the index (layout.json) written too;
- the anchor: ``shutil.copytree`` of the same folder.

Each side: median of 3, a fresh destination each time. Same conditions for both: before
each trial the source's pages are dropped from the page cache (posix_fadvise DONTNEED)
and the previous destination is removed and synced, outside the timing. Neither side
fsyncs its destination (which favours the copy: its 1 GB stays in dirty pages).

Last line:
run_files: layout_ms=… copy_ms=… ratio=…   (goal: ratio <= 0.05)
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))
from jupyter_mllab.jobs.workdir import lay_out  # noqa: E402


def make_folder(root: Path, files: int, big_bytes: int) -> int:
    rng = random.Random(0)
    total = 0
    for i in range(files):
        sub = root / f"part{i % 20:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        data = rng.randbytes(rng.randint(1024, 4096))
        (sub / f"f{i:04d}.bin").write_bytes(data)
        total += len(data)
    chunk = b"\0" * (8 * 2**20)
    with open(root / "big.bin", "wb") as f:
        left = big_bytes
        while left > 0:
            f.write(chunk[: min(left, len(chunk))])
            left -= len(chunk)
        f.flush()
        os.fsync(f.fileno())
    return total + big_bytes


def drop_cache(root: Path) -> None:
    for dirpath, _, names in os.walk(root):
        for name in names:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def trials(src: Path, scratch: Path, step: Callable[[Path], object], n: int) -> list[float]:
    times = []
    for i in range(n):
        dest = scratch / f"dest-{i}"
        os.sync()
        drop_cache(src)
        t = time.perf_counter()
        step(dest)
        times.append(time.perf_counter() - t)
        shutil.rmtree(dest)
        os.sync()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--big-mb", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="mllab-bench-files-"))
    try:
        src = base / "notebook-folder"
        src.mkdir()
        total = make_folder(src, args.files, args.big_mb * 2**20)
        print(f"folder: {args.files} small files + {args.big_mb} MB, {total / 2**20:.0f} MB")
        scratch = base / "scratch"
        scratch.mkdir()
        methods: dict[str, int] = {}

        def ours(dest: Path) -> None:
            layout = lay_out(src, dest / "work")
            layout.save(dest / "layout.json")
            methods.update(layout.methods)

        def copy(dest: Path) -> None:
            shutil.copytree(src, dest / "work")

        layout_s = trials(src, scratch, ours, args.repeat)
        print("ours (layout):", ", ".join(f"{t * 1000:.1f} ms" for t in layout_s), methods)
        copy_s = trials(src, scratch, copy, args.repeat)
        print("shutil.copytree:", ", ".join(f"{t * 1000:.0f} ms" for t in copy_s))
    finally:
        shutil.rmtree(base, ignore_errors=True)

    layout_ms = statistics.median(layout_s) * 1000
    copy_ms = statistics.median(copy_s) * 1000
    ratio = layout_ms / copy_ms
    print(f"run_files: layout_ms={layout_ms:.1f} copy_ms={copy_ms:.0f} ratio={ratio:.4f}")


if __name__ == "__main__":
    main()
