"""CSV export of a runs-table page, safe to open in a spreadsheet."""

from __future__ import annotations

import csv as _csv
import io
import re
from collections.abc import Iterator
from typing import Any

HEADER = ["run_id", "name", "status", "start_time", "duration_s", "notebook"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")


def csv_lines(page: dict[str, Any]) -> Iterator[str]:
    """The rows of ``page`` (made with ``limit=None``) as CSV, a line at a time."""
    columns = page["columns"]
    header = HEADER + [f"params.{k}" for k in columns["params"]]
    header += [f"metrics.{k}" for k in columns["metrics"]]
    out = io.StringIO()
    writer = _csv.writer(out)

    def line(values: list[Any]) -> str:
        out.seek(0)
        out.truncate()
        writer.writerow(["" if v is None else v for v in values])
        return out.getvalue()

    yield line(header)
    for r in page["runs"]:
        texts = [r["run_id"], r["name"], r["status"], r["start_time"], r["duration"]]
        texts += [r.get("notebook"), *(r["params"].get(k) for k in columns["params"])]
        yield line([csv_safe(v) for v in texts] + [r["metrics"].get(k) for k in columns["metrics"]])


def csv_safe(value: Any) -> Any:
    """No spreadsheet formulas from any text (run and notebook names, parameters): text
    that a spreadsheet would read as a formula gets a leading ``'``; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not NUMBER.fullmatch(value):
        return "'" + value
    return value
