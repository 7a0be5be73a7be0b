"""Per-column statistics (count, nulls, min/max/mean, top values) of tabular versions.

Computed once per content (sha256) in the background and cached as JSON beside the
home's dataset cache. Files are read in chunks of about CHUNK_BYTES (not a fixed number of
rows: a very wide file's rows are big), at most MAX_COLUMNS columns, so that the worker's
memory stays bounded whatever the file's shape.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from .preview import HEAD_BYTES, count_lines, jsonable, kind_of, sniff_delimiter

TOP = 5
CHUNK_ROWS = 200_000  # at most, for narrow files
CHUNK_BYTES = 32 * 2**20  # in memory, per chunk
MAX_COLUMNS = 1000
TOP_KEYS = 2_000_000  # distinct values counted, over all columns together


class _Column:
    def __init__(self, name: str, top_keys: int = 100_000):
        self.name = name
        self.top_keys = top_keys
        self.count = 0
        self.nulls = 0
        self.numeric = True
        self.total = 0.0
        self.numeric_n = 0
        self.min: Any = None
        self.max: Any = None
        self.top: Counter[str] = Counter()

    def update(self, series: Any) -> None:
        import pandas as pd

        self.count += int(series.size)
        nulls = int(series.isna().sum())
        self.nulls += nulls
        values = series.dropna()
        if values.empty:
            return
        if (
            self.numeric
            and pd.api.types.is_numeric_dtype(values)
            and not pd.api.types.is_bool_dtype(values)
        ):
            lo, hi = values.min(), values.max()
            self.min = lo if self.min is None else min(self.min, lo)
            self.max = hi if self.max is None else max(self.max, hi)
            self.total += float(values.sum())
            self.numeric_n += int(values.size)
        else:
            self.numeric = False
            as_text = values.astype(str)
            lo, hi = as_text.min(), as_text.max()
            self.min = (
                lo if self.min is None or not isinstance(self.min, str) else min(self.min, lo)
            )
            self.max = (
                hi if self.max is None or not isinstance(self.max, str) else max(self.max, hi)
            )
        if len(self.top) < self.top_keys:
            # counted as they are, named as text: no text copy of a numeric column
            counts = values.value_counts().head(1000)
            self.top.update({str(k): int(c) for k, c in counts.items()})

    def result(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "type": "number" if self.numeric and self.numeric_n else "string",
            "count": self.count,
            "nulls": self.nulls,
            "min": jsonable(self.min.item() if hasattr(self.min, "item") else self.min),
            "max": jsonable(self.max.item() if hasattr(self.max, "item") else self.max),
            "mean": (self.total / self.numeric_n) if self.numeric and self.numeric_n else None,
            "top": [{"value": v, "count": c} for v, c in self.top.most_common(TOP)],
        }
        return out


def _head_rows(path: Path) -> int:
    """Rows of about CHUNK_BYTES of text, from the average line of the file's head."""
    with open(path, "rb") as f:
        head = f.read(HEAD_BYTES)
    lines = max(head.count(b"\n"), 1)
    return max(1, min(CHUNK_ROWS, CHUNK_BYTES * lines // max(len(head), 1) // 4))


def _rows_for(frame: Any, rows: int) -> int:
    """The next chunk's rows, from what this chunk's rows took in memory."""
    if not len(frame):
        return rows
    used = int(frame.memory_usage(index=False, deep=True).sum())
    return max(1, min(CHUNK_ROWS, CHUNK_BYTES * len(frame) // max(used, 1)))


def compute_stats(path: Path, filename: str, media_type: str) -> dict[str, Any]:
    kind = kind_of(filename, media_type)
    columns: dict[str, _Column] = {}
    total_columns = 0

    def feed(frame: Any) -> None:
        top_keys = max(TOP * 20, TOP_KEYS // max(len(frame.columns), 1))
        for name in frame.columns:
            columns.setdefault(str(name), _Column(str(name), top_keys)).update(frame[name])

    if kind == "csv":
        import pandas as pd

        with open(path, "rb") as f:
            head = f.read(8192)
        cut = head.rfind(b"\n")
        head = head[: cut + 1] if cut > 0 else head
        sep = sniff_delimiter(head.decode("utf-8", errors="replace"), filename)
        total_columns = len(pd.read_csv(path, sep=sep, nrows=0).columns)
        usecols = list(range(MAX_COLUMNS)) if total_columns > MAX_COLUMNS else None
        rows, want = 0, _head_rows(path)
        with pd.read_csv(path, sep=sep, usecols=usecols, iterator=True) as reader:
            while True:
                try:
                    frame = reader.get_chunk(want)
                except StopIteration:
                    break
                rows += len(frame)
                feed(frame)
                want = _rows_for(frame, want)
    elif kind == "parquet":
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        meta = pf.metadata
        rows = meta.num_rows
        names = pf.schema_arrow.names
        total_columns = len(names)
        size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        batch = max(1, min(CHUNK_ROWS, CHUNK_BYTES * max(rows, 1) // max(size * 4, 1)))
        for part in pf.iter_batches(batch_size=batch, columns=names[:MAX_COLUMNS]):
            feed(part.to_pandas())
    elif kind == "jsonl":
        import pandas as pd

        rows = 0
        for frame in pd.read_json(path, lines=True, chunksize=_head_rows(path)):
            rows += len(frame)
            feed(frame.iloc[:, :MAX_COLUMNS])
        total_columns = len(columns)
    else:
        return {"status": "unsupported", "message": f"No column statistics for {kind} files."}
    out: dict[str, Any] = {
        "status": "done",
        "rows": rows,
        "columns": [c.result() for c in columns.values()],
    }
    if total_columns > len(columns):
        out["columns_total"] = total_columns
        out["message"] = f"Statistics of the first {len(columns):,} of {total_columns:,} columns."
    return out


class StatsCache:
    """``<cache>/stats/<sha256>.json``: one file per content, written atomically."""

    def __init__(self, root: Path):
        self.root = root

    def path(self, sha256: str, what: str = "stats") -> Path:
        return self.root / what / f"{sha256}.json"

    def get(self, sha256: str, what: str = "stats") -> dict[str, Any] | None:
        try:
            return json.loads(self.path(sha256, what).read_text())
        except (OSError, ValueError):
            return None

    def put(self, sha256: str, data: dict[str, Any], what: str = "stats") -> None:
        target = self.path(sha256, what)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, target)

    def row_count(self, sha256: str, path: Path) -> int:
        cached = self.get(sha256, "rows")
        if cached is not None:
            return int(cached["rows"])
        rows = count_lines(path)
        self.put(sha256, {"rows": rows}, "rows")
        return rows
