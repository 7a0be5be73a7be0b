"""Tracking, in one run:
(1) 100,000 metric points from a loop with ``mllab.log_metric`` (until they are all stored:
    the final flush counts) against ``mlflow.log_metric`` on the same SQLite store (2,000
    calls timed and scaled to 100,000);
(2) the first page (100 rows, sorted by a metric, one filter) of our runs API over 10,000
    runs, through a running server, against ``mlflow.search_runs`` for the same page on the
    same store (medians of several calls each, after one warm-up call).

The 10,000 runs (6 parameters, 4 metrics with 5 points of history each, 4 tags) are written
into the lab's MLflow store with SQL in a few seconds, once per run of this script.

Last line:
tracking: ours_metrics_per_s=… mlflow_metrics_per_s=… log_ratio=… runs_page_ms=…
          mlflow_search_ms=… page_ratio=…   (on one line)
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from labserver import LabServer  # noqa: E402

FILTER = "params.optimizer = 'adam'"
ORDER = "metrics.accuracy DESC"


def fill(db: Path, experiment_id: str, runs: int) -> None:
    """``runs`` finished runs in the experiment, written with SQL into MLflow's tables."""
    rng = random.Random(0)
    conn = sqlite3.connect(db)
    now = int(time.time() * 1000)
    rows_runs, rows_params, rows_latest, rows_metrics, rows_tags = [], [], [], [], []
    for i in range(runs):
        rid = uuid.uuid4().hex
        start = now - (runs - i) * 60_000
        rows_runs.append((rid, f"run {i}", start, start + rng.randint(5_000, 600_000),
                          int(experiment_id)))  # fmt: skip
        params = {
            "optimizer": rng.choice(["adam", "sgd", "rmsprop"]),
            "lr": str(round(10 ** rng.uniform(-4, -1), 6)),
            "batch_size": str(rng.choice([16, 32, 64, 128])),
            "epochs": str(rng.randint(1, 50)),
            "dropout": str(round(rng.random() / 2, 3)),
            "layers": str(rng.randint(1, 8)),
        }
        rows_params += [(k, v, rid) for k, v in params.items()]
        for key in ("accuracy", "loss", "val_accuracy", "val_loss"):
            value = rng.random()
            for step in range(5):
                rows_metrics.append((key, value * (step + 1) / 5, start + step, rid, step))
            rows_latest.append((key, value, start + 4, 4, rid))
        tags = {"mllab.notebook": f"/lab/train{i % 4}.ipynb", "mllab.job_id": rid[:12],
                "mlflow.runName": f"run {i}", "team": rng.choice(["a", "b"])}  # fmt: skip
        rows_tags += [(k, v, rid) for k, v in tags.items()]
    with conn:
        conn.executemany(
            "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, "
            "user_id, status, start_time, end_time, source_version, lifecycle_stage, "
            "artifact_uri, experiment_id) VALUES (?, ?, 'LOCAL', '', '', 'bench', "
            "'FINISHED', ?, ?, '', 'active', '', ?)",
            rows_runs,
        )
        conn.executemany("INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)", rows_params)
        conn.executemany(
            "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) "
            "VALUES (?, ?, ?, ?, ?, 0)",
            rows_metrics,
        )
        conn.executemany(
            "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) "
            "VALUES (?, ?, ?, ?, 0, ?)",
            rows_latest,
        )
        conn.executemany("INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)", rows_tags)
    conn.close()


def pages(runs: int, repeats: int) -> tuple[float, float, int]:
    """Median ms of our first page and of mlflow.search_runs's, over ``runs`` runs."""
    import mlflow

    root = Path(tempfile.mkdtemp(prefix="mllab-bench-runs-"))
    server = LabServer(root)
    try:
        query = urllib.parse.urlencode(
            {"project": "default", "filter": FILTER, "order_by": ORDER, "limit": 100}
        )
        experiment_id = server.call("GET", "/mllab/api/runs?project=default")["experiment_id"]
        t = time.perf_counter()
        fill(root / ".mllab" / "mlflow.db", experiment_id, runs)
        print(f"{runs} runs written in {time.perf_counter() - t:.1f} s")

        def ours() -> dict:
            return server.call("GET", f"/mllab/api/runs?{query}")

        first = ours()
        assert first["total"] > runs // 4 and len(first["runs"]) == 100, first["total"]
        ours_ms = []
        for _ in range(repeats * 3):
            t = time.perf_counter()
            ours()
            ours_ms.append((time.perf_counter() - t) * 1000)

        mlflow.set_tracking_uri(f"sqlite:///{root / '.mllab' / 'mlflow.db'}")

        def theirs() -> object:
            return mlflow.search_runs(
                experiment_ids=[experiment_id], filter_string=FILTER, order_by=[ORDER],
                max_results=100,
            )  # fmt: skip

        frame = theirs()
        top = [r["run_id"] for r in first["runs"]]
        assert list(frame["run_id"]) == top, "the two pages differ"
        mlflow_ms = []
        for _ in range(repeats):
            t = time.perf_counter()
            theirs()
            mlflow_ms.append((time.perf_counter() - t) * 1000)
        return statistics.median(ours_ms), statistics.median(mlflow_ms), first["total"]
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--mlflow-calls", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="mllab-bench-tracking-"))
    os.environ["MLLAB_HOME"] = str(home)
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    os.environ.pop("MLLAB_RUN_ID", None)
    try:
        import mlflow

        import jupyter_mllab as mllab

        mllab.list_projects()
        with mllab.start_run(name="ours") as run:
            t = time.perf_counter()
            for i in range(args.points):
                mllab.log_metric("loss", 1.0 / (i + 1), step=i)
            mllab.flush()
            ours = time.perf_counter() - t
        client = mlflow.MlflowClient(mllab.client.tracking_uri())
        stored = len(client.get_metric_history(run.info.run_id, "loss"))
        assert stored == args.points, stored

        mlflow.set_tracking_uri(mllab.client.tracking_uri())
        mlflow.set_experiment(experiment_id=run.info.experiment_id)
        with mlflow.start_run(run_name="mlflow"):
            t = time.perf_counter()
            for i in range(args.mlflow_calls):
                mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
            theirs = time.perf_counter() - t
    finally:
        shutil.rmtree(home, ignore_errors=True)
    ours_rate = args.points / ours
    mlflow_rate = args.mlflow_calls / theirs
    print(f"mllab.log_metric: {args.points} points stored in {ours:.2f} s")
    print(f"mlflow.log_metric: {args.mlflow_calls} calls in {theirs:.2f} s")
    page_ms, search_ms, matched = pages(args.runs, args.repeats)
    print(f"runs page: {matched} of {args.runs} runs match; ours {page_ms:.1f} ms, "
          f"mlflow.search_runs {search_ms:.1f} ms")  # fmt: skip
    print(
        f"tracking: ours_metrics_per_s={ours_rate:.0f} mlflow_metrics_per_s={mlflow_rate:.0f} "
        f"log_ratio={ours_rate / mlflow_rate:.0f} runs_page_ms={page_ms:.1f} "
        f"mlflow_search_ms={search_ms:.1f} page_ratio={page_ms / search_ms:.3f}"
    )


if __name__ == "__main__":
    main()
