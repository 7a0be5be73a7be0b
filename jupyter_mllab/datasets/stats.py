"""Per-column statistics (count, nulls, min/max/mean, top values) of tabular versions.

Computed once per content (sha256) in the background and cached as JSON beside the
home's dataset cache; CSVs are read in chunks so that memory stays bounded.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from .preview import count_lines, jsonable, kind_of, preview_csv

TOP = 5
CHUNK_ROWS = 200_000


class _Column:
    def __init__(self, name: str):
        self.name = name
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
        if len(self.top) < 100_000:
            self.top.update(values.astype(str).value_counts().head(1000).to_dict())

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


def compute_stats(path: Path, filename: str, media_type: str) -> dict[str, Any]:
    kind = kind_of(filename, media_type)
    columns: dict[str, _Column] = {}

    def feed(frame: Any) -> None:
        for name in frame.columns:
            columns.setdefault(str(name), _Column(str(name))).update(frame[name])

    if kind == "csv":
        import pandas as pd

        sep = preview_csv(path, filename, 1)["delimiter"]
        reader = pd.read_csv(path, sep=sep, chunksize=CHUNK_ROWS)
        rows = 0
        for frame in reader:
            rows += len(frame)
            feed(frame)
    elif kind == "parquet":
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        rows = pf.metadata.num_rows
        for batch in pf.iter_batches(batch_size=CHUNK_ROWS):
            feed(batch.to_pandas())
    elif kind == "jsonl":
        import pandas as pd

        rows = 0
        for frame in pd.read_json(path, lines=True, chunksize=CHUNK_ROWS):
            rows += len(frame)
            feed(frame)
    else:
        return {"status": "unsupported", "message": f"No column statistics for {kind} files."}
    return {"status": "done", "rows": rows, "columns": [c.result() for c in columns.values()]}


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
