"""serve/metrics.py: RequestMetrics fed real request records from many threads, read as the
stats JSON (percentiles checked against numpy's, the per-second series on a controlled
clock) and as Prometheus text parsed by prometheus-client's own parser."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from jupyter_mllab.serve.metrics import DURATION_BUCKETS, SERIES_SECONDS, RequestMetrics


class Clock:
    def __init__(self, now: float = 1_800_000_000.25):
        self.now = now

    def __call__(self) -> float:
        return self.now


def record(metrics: RequestMetrics, status: int = 200, seconds: float = 0.002, rows: int = 1):
    metrics.record("POST", "/invocations", status, seconds, 120, 30, rows)


def test_counts_percentiles_and_recent_from_many_threads() -> None:
    metrics = RequestMetrics(recent=5, window=1000)
    rng = np.random.default_rng(7)
    latencies = rng.lognormal(-6, 0.8, size=(8, 400))
    statuses = [200, 200, 200, 400, 200, 500, 200, 413]

    def worker(i: int) -> None:
        for seconds in latencies[i]:
            record(metrics, statuses[i], float(seconds), rows=3)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    stats = metrics.stats(ready=True, started_at=12.5)

    assert stats["requests"] == 3200 and stats["rows"] == 9600
    assert stats["errors"] == {"400": 400, "413": 400, "500": 400}
    assert stats["ready"] is True and stats["started_at"] == 12.5
    assert len(stats["recent"]) == 5
    assert sum(second["requests"] for second in stats["series"]) == 3200
    assert sum(second["errors"] for second in stats["series"]) == 1200
    all_ms = sorted((latencies * 1000).ravel())
    assert all_ms[0] <= stats["latency_ms"]["p50"] <= stats["latency_ms"]["p99"] <= all_ms[-1]


def test_percentiles_are_numpys_over_the_last_window() -> None:
    metrics = RequestMetrics(recent=3, window=100)
    values = np.random.default_rng(1).uniform(0.001, 0.5, size=250)
    for i, seconds in enumerate(values):
        metrics.record("GET", f"/p{i}", 200, float(seconds), 0, 10, 0)
    stats = metrics.stats(ready=False, started_at=0.0)
    last = values[-100:] * 1000
    for q in (50, 95, 99):
        assert stats["latency_ms"][f"p{q}"] == pytest.approx(np.percentile(last, q))
    # Newest first, capped at `recent`; sizes, never bodies.
    assert [entry["path"] for entry in stats["recent"]] == ["/p249", "/p248", "/p247"]
    assert set(stats["recent"][0]) == {
        "t",
        "method",
        "path",
        "status",
        "ms",
        "request_bytes",
        "response_bytes",
        "rows",
    }
    assert stats["recent"][0]["ms"] == pytest.approx(values[-1] * 1000)


def test_empty_metrics_and_batching() -> None:
    metrics = RequestMetrics()
    stats = metrics.stats(ready=False, started_at=1.0, batching=None)
    assert stats["requests"] == 0 and stats["errors"] == {} and stats["series"] == []
    assert stats["latency_ms"] == {"p50": None, "p95": None, "p99": None}
    assert stats["batching"] == {
        "enabled": False,
        "max_rows": 0,
        "window_ms": 0.0,
        "mean_batch_rows": 0.0,
    }
    for rows in (1, 4, 7):
        metrics.record_batch(rows)
    settings = {"enabled": True, "max_rows": 64, "window_ms": 2}
    assert metrics.stats(True, 1.0, settings)["batching"] == {
        "enabled": True,
        "max_rows": 64,
        "window_ms": 2.0,
        "mean_batch_rows": 4.0,
    }
    with pytest.raises(ValueError):
        RequestMetrics(window=0)


def test_series_per_second_for_the_last_300_seconds() -> None:
    clock = Clock()
    metrics = RequestMetrics(clock=clock)
    start = int(clock.now)
    for ms in (1.0, 2.0, 3.0, 10.0):
        record(metrics, seconds=ms / 1000)
    clock.now += 0.5  # same second
    record(metrics, 404, 0.004)
    clock.now += 2  # a second without traffic is skipped
    record(metrics, 200, 0.008)
    series = metrics.stats(True, 0.0)["series"]
    assert [(s["t"], s["requests"], s["errors"]) for s in series] == [
        (start, 5, 1),
        (start + 2, 1, 0),
    ]
    assert series[0]["p50_ms"] == pytest.approx(3.0)
    assert series[0]["p99_ms"] == pytest.approx(np.percentile([1, 2, 3, 4, 10], 99))

    clock.now = start + SERIES_SECONDS + 1  # the first second is out of the 300 s now
    assert [s["t"] for s in metrics.stats(True, 0.0)["series"]] == [start + 2]
    clock.now = start + 2 + SERIES_SECONDS
    assert metrics.stats(True, 0.0)["series"] == []
    assert metrics.stats(True, 0.0)["requests"] == 6  # totals are not windowed


def test_a_busy_second_keeps_a_bounded_sample() -> None:
    clock = Clock()
    metrics = RequestMetrics(clock=clock)
    # 10,000 requests in one second: 9,000 at 1 ms, then 1,000 at 100 ms.
    for i in range(10_000):
        record(metrics, seconds=0.001 if i < 9000 else 0.1)
    (second,) = metrics.stats(True, 0.0)["series"]
    assert second["requests"] == 10_000
    assert second["p50_ms"] == pytest.approx(1.0)  # the reservoir is uniform over the second
    assert second["p99_ms"] == pytest.approx(100.0)
    assert len(metrics._seconds[0].latencies) == 256


def families(text: str) -> dict[str, object]:
    return {family.name: family for family in text_string_to_metric_families(text)}


def test_prometheus_text_parses_with_prometheus_client() -> None:
    metrics = RequestMetrics()
    durations = [0.0003, 0.001, 0.004, 0.004, 0.2, 30.0]
    for seconds, status in zip(durations, [200, 200, 200, 400, 500, 200], strict=True):
        record(metrics, status, seconds, rows=2)
    text = metrics.prometheus('demo/wine@3 "x"\\')
    assert text.endswith("\n")
    found = families(text)
    assert set(found) == {
        "mllab_requests",
        "mllab_request_duration_seconds",
        "mllab_rows",
        "mllab_ready",
    }
    requests = found["mllab_requests"]
    assert requests.type == "counter"  # type: ignore[attr-defined]
    label = 'demo/wine@3 "x"\\'
    assert {s.labels["status"]: s.value for s in requests.samples} == {  # type: ignore[attr-defined]
        "200": 4,
        "400": 1,
        "500": 1,
    }
    assert all(s.labels["model"] == label for s in requests.samples)  # type: ignore[attr-defined]

    histogram = found["mllab_request_duration_seconds"]
    assert histogram.type == "histogram"  # type: ignore[attr-defined]
    samples = {(s.name, s.labels.get("le")): s.value for s in histogram.samples}  # type: ignore[attr-defined]
    for bound in (*DURATION_BUCKETS, math.inf):
        expected = sum(d <= bound for d in durations)
        le = "+Inf" if bound == math.inf else repr(bound)
        assert samples[("mllab_request_duration_seconds_bucket", le)] == expected, le
    assert samples[("mllab_request_duration_seconds_count", None)] == 6
    assert samples[("mllab_request_duration_seconds_sum", None)] == pytest.approx(sum(durations))
    assert found["mllab_rows"].samples[0].value == 12  # type: ignore[attr-defined]

    ready = found["mllab_ready"]
    assert ready.type == "gauge" and ready.samples[0].value == 0  # type: ignore[attr-defined]
    metrics.ready = True
    assert families(metrics.prometheus(None))["mllab_ready"].samples[0].value == 1  # type: ignore[attr-defined]
    assert families(metrics.prometheus(None, ready=False))["mllab_ready"].samples[0].value == 0  # type: ignore[attr-defined]
