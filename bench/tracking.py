"""Tracking, part (1): 100,000 metric points from a loop with ``mllab.log_metric`` (until
they are all stored: the final flush counts) against ``mlflow.log_metric`` on the same
SQLite store (2,000 calls timed and scaled to 100,000).

Part (2) of the issue (the runs API's first page over 10,000 runs against
``mlflow.search_runs``) waits for the runs table; until then the last line carries part (1):
tracking: ours_metrics_per_s=… mlflow_metrics_per_s=… log_ratio=…
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--mlflow-calls", type=int, default=2_000)
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
    print(
        f"tracking: ours_metrics_per_s={ours_rate:.0f} mlflow_metrics_per_s={mlflow_rate:.0f} "
        f"log_ratio={ours_rate / mlflow_rate:.0f}"
    )


if __name__ == "__main__":
    main()
