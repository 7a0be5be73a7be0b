"""Which MLflow run this process logs to, if any (kept light: mlflow only if already used)."""

from __future__ import annotations

import os
import sys

RUN_ENV = "MLLAB_RUN_ID"


def active_run_id() -> str | None:
    """``$MLLAB_RUN_ID`` inside a tracked job; else an MLflow run this process started."""
    run_id = os.environ.get(RUN_ENV)
    if run_id:
        return run_id
    mlflow = sys.modules.get("mlflow")
    if mlflow is not None:
        run = mlflow.active_run()
        if run is not None:
            return str(run.info.run_id)
    return None
