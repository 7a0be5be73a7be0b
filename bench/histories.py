"""Metric histories for a chart, in one run: a run with 3 metrics x 100,000 points in an
embedded SQLite MLflow store; what the run page fetches (each history thinned in SQL to
1,440 points, two a pixel of a 720-pixel chart: the first, the last and each bucket's lowest
and highest value; ``RunsTable.histories``) against MLflow's own ``get_metric_history`` for
the same three metrics (every point, as MLflow's UI asks), plus the JSON each would send.
Medians of 5 calls each, after one warm-up call.

Last line:
histories: ours_ms=… mlflow_ms=… ratio=… ours_points=… mlflow_points=… ours_kb=… mlflow_kb=…
"""

from __future__ import annotations

import json
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

POINTS = 100_000
KEYS = ("loss", "accuracy", "lr")
BUDGET = 1440


def fill(db: Path, run_id: str) -> None:
    rng = random.Random(0)
    conn = sqlite3.connect(db)
    with conn:
        for key in KEYS:
            conn.executemany(
                "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) "
                "VALUES (?, ?, ?, ?, ?, 0)",
                (
                    (key, 2 / (1 + s / 500) + rng.random() * 0.05, 1_700_000_000_000 + s, run_id, s)
                    for s in range(POINTS)
                ),
            )
    conn.close()


def median_ms(call: object, repeat: int = 5) -> tuple[float, object]:
    result = call()  # type: ignore[operator]
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        result = call()  # type: ignore[operator]
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), result


def main() -> None:
    from mlflow.tracking import MlflowClient

    from jupyter_mllab.tracking.table import RunsTable

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "mlflow.db"
        uri = f"sqlite:///{db}"
        client = MlflowClient(uri)
        exp = client.create_experiment("bench", artifact_location=str(Path(tmp) / "art"))
        run_id = client.create_run(exp).info.run_id
        fill(db, run_id)
        table = RunsTable(uri)

        def ours() -> dict[str, list[dict[str, object]]]:
            histories = table.histories([run_id], BUDGET, {run_id: list(KEYS)})
            return {
                k: [{"step": s, "value": v, "timestamp": t} for s, v, t in series[run_id]]
                for k, series in histories.items()
            }

        def theirs() -> dict[str, list[dict[str, object]]]:
            return {
                k: [
                    {"step": m.step, "value": m.value, "timestamp": m.timestamp}
                    for m in client.get_metric_history(run_id, k)
                ]
                for k in KEYS
            }

        ours_ms, ours_reply = median_ms(ours)
        theirs_ms, theirs_reply = median_ms(theirs)
        count = lambda reply: sum(len(v) for v in reply.values())  # noqa: E731
        kb = lambda reply: len(json.dumps(reply)) / 1024  # noqa: E731
        print(
            f"histories: ours_ms={ours_ms:.0f} mlflow_ms={theirs_ms:.0f} "
            f"ratio={ours_ms / theirs_ms:.3f} ours_points={count(ours_reply)} "
            f"mlflow_points={count(theirs_reply)} ours_kb={kb(ours_reply):.0f} "
            f"mlflow_kb={kb(theirs_reply):.0f}"
        )


if __name__ == "__main__":
    main()
