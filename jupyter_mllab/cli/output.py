"""What the CLI prints: plain aligned tables for people, ``--json`` for scripts, and
tqdm progress bars on stderr (so that stdout stays the result)."""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Sequence
from typing import Any


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return ",".join(map(cell, value))
    if isinstance(value, dict):
        return ",".join(f"{k}={cell(v)}" for k, v in value.items())
    return str(value)


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> None:
    """Columns as wide as their widest value; nothing at all for no rows but a note."""
    if not rows:
        sys.stdout.write("(none)\n")
        return
    text = [[cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in text)) for i, h in enumerate(headers)]
    for line in (list(headers), *text):
        sys.stdout.write(
            "  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() + "\n"
        )


def when(value: Any) -> str:
    """A unix time (s or ms) or an ISO string as ``YYYY-MM-DD HH:MM``."""
    if isinstance(value, (int, float)):
        seconds = value / 1000 if value > 1e11 else value
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds))
    return str(value or "")[:16].replace("T", " ")


def size(n: Any) -> str:
    number = float(n or 0)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if number < 1024 or unit == "TB":
            return f"{number:.0f} {unit}" if unit == "B" else f"{number:.1f} {unit}"
        number /= 1024
    return str(n)


class Bar:
    """A tqdm bar on stderr (off where stderr is no terminal, unless asked for), or
    nothing: ``update``/``set``/``close`` are safe either way."""

    def __init__(self, enabled: bool, total: float | None, desc: str, unit: str = "it"):
        self._bar = None
        if enabled:
            from tqdm import tqdm

            scale = unit == "B"
            self._bar = tqdm(
                total=total, desc=desc, unit=unit, unit_scale=scale, unit_divisor=1024,
                file=sys.stderr, dynamic_ncols=True, leave=True, mininterval=0.2,
            )  # fmt: skip

    def update(self, n: float) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def set(self, done: float, total: float | None = None, note: str | None = None) -> None:
        if self._bar is None:
            return
        if total is not None and total != self._bar.total:
            self._bar.total = total
        self._bar.n = done
        if note is not None:
            self._bar.set_postfix_str(note[:40], refresh=False)
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
