"""Metric histories thinned to a point budget that still draw as the whole history.

A chart of ``most`` points cannot show more than that, but evenly picked points drop the
spikes a user needs to see (a loss that diverged for fifty steps). So the x range is cut
into ``(most - 2) // 2`` equal buckets and each keeps its lowest and highest value (the
"min/max per bucket" downsampling of time-series databases), plus the first and the last
point: bounded, extremes kept, the latest value always there. Both backends use the same
rule: :func:`thin` in Python for MLflow's client, :func:`bucket_queries` in SQL for SQLite.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Point = tuple[int, float | None, int]  # (step, value, timestamp)


@dataclass(frozen=True)
class Window:
    """Which points of a history a caller wants: those after a step and/or a time."""

    after_step: int | None = None  # only points with step > after_step
    since: int | None = None  # only points logged after this time (unix ms)

    def keeps(self, point: Point) -> bool:
        step, _, timestamp = point
        return (self.after_step is None or step > self.after_step) and (
            self.since is None or timestamp > self.since
        )

    def sql(self) -> tuple[str, list[Any]]:
        """An SQL condition (with its arguments) on the ``metrics`` table's columns."""
        where, args = "", []
        if self.after_step is not None:
            where += " AND step > ?"
            args.append(self.after_step)
        if self.since is not None:
            where += " AND timestamp > ?"
            args.append(self.since)
        return where, args


ALL = Window()  # every point


def buckets_for(most: int) -> int:
    """How many min/max buckets fit a budget of ``most`` points beside the first and last."""
    return max(0, (most - 2) // 2)


def thin(points: Sequence[Point], most: int) -> list[Point]:
    """At most ``most`` points (at least 2 when there are) of a history in step order: the
    first, the last, and each bucket's lowest and highest finite value. Buckets cut the
    steps' range, or the times' when every point has the same step."""
    if len(points) <= most:
        return list(points)
    first, last = points[0], points[-1]
    by_step = last[0] > first[0]
    lo = first[0] if by_step else first[2]
    hi = last[0] if by_step else last[2]
    count = buckets_for(most)
    picked: dict[int, Point] = {0: first, len(points) - 1: last}
    if count and hi > lo:
        low: dict[int, int] = {}
        high: dict[int, int] = {}
        for i, (step, value, timestamp) in enumerate(points):
            if value is None:
                continue
            x = step if by_step else timestamp
            b = min((x - lo) * count // (hi - lo + 1), count - 1)
            if b not in low or value < points[low[b]][1]:  # type: ignore[operator]
                low[b] = i
            if b not in high or value > points[high[b]][1]:  # type: ignore[operator]
                high[b] = i
        for i in (*low.values(), *high.values()):
            picked[i] = points[i]
    return [picked[i] for i in sorted(picked)][:most]


def bucket_queries(column: str, count: int, window: str) -> list[str]:
    """The SQL for each bucket's lowest and for its highest finite value of one run's metric
    (``window``: :meth:`Window.sql`'s condition).

    SQLite's bare columns: in a query with a single ``MIN()`` (or ``MAX()``) aggregate, the
    other columns come from the row that has it. Arguments: run id, key, the window's, then
    the first value, ``count`` and the span of ``column``."""
    assert column in ("step", "timestamp")
    bucket = f"MIN(({column} - ?) * ? / ?, {int(count) - 1})"
    return [
        f"SELECT step, {agg}(value), is_nan, timestamp FROM metrics "
        f"WHERE run_uuid = ? AND key = ? AND is_nan = 0{window} GROUP BY {bucket}"
        for agg in ("MIN", "MAX")
    ]
