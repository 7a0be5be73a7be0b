"""Request metrics of a model service: counts, latency percentiles, a per-second series.

:class:`RequestMetrics` is fed one :meth:`~RequestMetrics.record` per answered request
(from the HTTP threads: it takes one lock and does O(1) work) and read two ways: as the
``GET /mllab/stats`` JSON the lab draws (:meth:`~RequestMetrics.stats`) and as the
Prometheus text exposition format 0.0.4 of ``GET /metrics``
(:meth:`~RequestMetrics.prometheus`, written here so that a bundle needs no
prometheus-client where it runs).

Percentiles are exact over the last ``window`` requests (sorted when read, not when
recorded). Each second of the series keeps at most ``_SECOND_SAMPLE`` latencies, a
uniform reservoir sample of that second's requests, so that memory stays bounded at any
request rate. Request bodies are never kept: only their sizes.
"""

from __future__ import annotations

import bisect
import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

SERIES_SECONDS = 300
# Upper bounds (seconds) of the Prometheus latency histogram's buckets, +Inf implied.
DURATION_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
_SECOND_SAMPLE = 256


@dataclass
class _Second:
    """One second of the series: its counts and a reservoir sample of its latencies."""

    t: int
    requests: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)

    def add(self, ms: float, error: bool, rng: random.Random) -> None:
        self.requests += 1
        self.errors += error
        if len(self.latencies) < _SECOND_SAMPLE:
            self.latencies.append(ms)
        else:  # reservoir sampling: each request of the second kept with equal chance
            slot = rng.randrange(self.requests)
            if slot < _SECOND_SAMPLE:
                self.latencies[slot] = ms


class RequestMetrics:
    """Thread-safe request metrics: ``record`` per request, ``stats`` and ``prometheus`` to read.

    ``recent``: how many requests ``stats()["recent"]`` lists (newest first); ``window``:
    how many of the last requests the percentiles are over. ``clock`` (seconds since the
    epoch) is for tests.
    """

    def __init__(
        self,
        recent: int = 100,
        window: int = 1000,
        *,
        clock: Callable[[], float] = time.time,
    ):
        if recent < 0 or window < 1:
            raise ValueError("recent must be >= 0 and window >= 1")
        self._clock = clock
        self._lock = threading.Lock()
        self._rng = random.Random(0)
        self._recent: deque[dict[str, Any]] = deque(maxlen=recent)
        self._window: deque[float] = deque(maxlen=window)
        self._seconds: deque[_Second] = deque()
        self._requests = 0
        self._rows = 0
        self._by_status: dict[int, int] = {}
        self._buckets = [0] * (len(DURATION_BUCKETS) + 1)  # the last one: over the largest
        self._duration_sum = 0.0
        self._batches = 0
        self._batch_rows = 0
        self.ready = False  # what prometheus() reports unless told; the server sets it

    def record(
        self,
        method: str,
        path: str,
        status: int,
        seconds: float,
        request_bytes: int,
        response_bytes: int,
        rows: int,
    ) -> None:
        """One answered request: ``seconds`` from its first byte read to its last written."""
        now = self._clock()
        ms = seconds * 1000.0
        error = status >= 400
        entry = {
            "t": now,
            "method": method,
            "path": path,
            "status": status,
            "ms": ms,
            "request_bytes": request_bytes,
            "response_bytes": response_bytes,
            "rows": rows,
        }
        bucket = bisect.bisect_left(DURATION_BUCKETS, seconds)
        second = int(now)
        with self._lock:
            self._requests += 1
            self._rows += rows
            self._by_status[status] = self._by_status.get(status, 0) + 1
            self._buckets[bucket] += 1
            self._duration_sum += seconds
            self._window.append(ms)
            self._recent.append(entry)
            if not self._seconds or self._seconds[-1].t < second:
                self._seconds.append(_Second(second))
                self._expire(second)
            # A clock step backwards lands in the newest second rather than reordering.
            self._seconds[-1].add(ms, error, self._rng)

    def record_batch(self, rows: int) -> None:
        """One micro-batch predicted in one call (for ``batching.mean_batch_rows``)."""
        with self._lock:
            self._batches += 1
            self._batch_rows += rows

    def _expire(self, now: int) -> None:
        while self._seconds and self._seconds[0].t <= now - SERIES_SECONDS:
            self._seconds.popleft()

    def stats(
        self, ready: bool, started_at: float, batching: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The ``GET /mllab/stats`` document (contract C1).

        ``batching`` is the server's settings (``enabled``, ``max_rows``, ``window_ms``);
        ``mean_batch_rows`` comes from :meth:`record_batch` unless it is given. Latency
        percentiles are ``None`` before the first request.
        """
        now = int(self._clock())
        with self._lock:
            self._expire(now)
            window = sorted(self._window)
            seconds = [(s.t, s.requests, s.errors, sorted(s.latencies)) for s in self._seconds]
            recent = list(reversed(self._recent))
            by_status = dict(self._by_status)
            requests, rows = self._requests, self._rows
            batches, batch_rows = self._batches, self._batch_rows
        settings = dict(batching or {})
        batch_info = {
            "enabled": bool(settings.get("enabled", False)),
            "max_rows": int(settings.get("max_rows", 0)),
            "window_ms": float(settings.get("window_ms", 0.0)),
            "mean_batch_rows": float(
                settings["mean_batch_rows"]
                if settings.get("mean_batch_rows") is not None
                else (batch_rows / batches if batches else 0.0)
            ),
        }
        return {
            "started_at": started_at,
            "ready": ready,
            "requests": requests,
            "errors": {str(code): n for code, n in sorted(by_status.items()) if code >= 400},
            "rows": rows,
            "latency_ms": {
                "p50": percentile(window, 50),
                "p95": percentile(window, 95),
                "p99": percentile(window, 99),
            },
            "series": [
                {
                    "t": t,
                    "requests": n,
                    "errors": errors,
                    "p50_ms": percentile(sample, 50),
                    "p99_ms": percentile(sample, 99),
                }
                for t, n, errors, sample in seconds
            ],
            "recent": [dict(entry) for entry in recent],
            "batching": batch_info,
        }

    def prometheus(self, model_key: str | None, *, ready: bool | None = None) -> str:
        """The metrics in Prometheus' text format 0.0.4, each series labelled with the model.

        ``ready`` defaults to the :attr:`ready` attribute the server keeps up to date.
        """
        with self._lock:
            by_status = sorted(self._by_status.items())
            buckets = list(self._buckets)
            total, duration_sum, rows = self._requests, self._duration_sum, self._rows
        is_ready = self.ready if ready is None else ready
        model = f'model="{_label_value(model_key or "")}"'
        lines = [
            "# HELP mllab_requests_total Requests answered, by HTTP status.",
            "# TYPE mllab_requests_total counter",
            *(f'mllab_requests_total{{{model},status="{code}"}} {n}' for code, n in by_status),
            "# HELP mllab_request_duration_seconds Time to answer a request.",
            "# TYPE mllab_request_duration_seconds histogram",
        ]
        cumulative = 0
        for bound, count in zip((*DURATION_BUCKETS, math.inf), buckets, strict=True):
            cumulative += count
            le = "+Inf" if bound == math.inf else repr(bound)
            lines.append(f'mllab_request_duration_seconds_bucket{{{model},le="{le}"}} {cumulative}')
        lines += [
            f"mllab_request_duration_seconds_sum{{{model}}} {duration_sum!r}",
            f"mllab_request_duration_seconds_count{{{model}}} {total}",
            "# HELP mllab_rows_total Rows predicted.",
            "# TYPE mllab_rows_total counter",
            f"mllab_rows_total{{{model}}} {rows}",
            "# HELP mllab_ready Whether the model is loaded and warmed up (1) or not (0).",
            "# TYPE mllab_ready gauge",
            f"mllab_ready{{{model}}} {int(is_ready)}",
        ]
        return "\n".join(lines) + "\n"


def percentile(ordered: list[float], q: float) -> float | None:
    """The ``q``-th percentile of sorted values, interpolated linearly (numpy's default)."""
    if not ordered:
        return None
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _label_value(value: str) -> str:
    """A label value escaped as the text format wants: backslash, double quote, newline."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
