"""Notebooks and waiting helpers for the jobs tests (real kernels, real papermill)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import nbformat

TERMINAL = ("COMPLETED", "FAILED", "CANCELLED")


def make_notebook(path: Path, params: str, *cells: str) -> Path:
    nb = nbformat.v4.new_notebook()
    first = nbformat.v4.new_code_cell(params)
    first.metadata["tags"] = ["parameters"]
    nb.cells = [first, *(nbformat.v4.new_code_cell(c) for c in cells)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


LOG_METRIC = (
    "import os\n"
    "from mlflow.tracking import MlflowClient\n"
    "_c = MlflowClient(os.environ['MLFLOW_TRACKING_URI'])\n"
    "for step in range(3):\n"
    "    _c.log_metric(os.environ['MLLAB_RUN_ID'], 'loss', alpha / (step + 1), step=step)\n"
)


def simple_notebook(root: Path, name: str = "train.ipynb") -> Path:
    return make_notebook(
        root / name,
        "alpha = 0.5  # learning rate\nepochs = 2\nname = 'x'",
        "print('alpha is', alpha, 'epochs', epochs)",
        "result = alpha * epochs\nresult",
    )


async def wait_for(api: Any, job_id: str, statuses: tuple[str, ...] = TERMINAL,
                   timeout: float = 120) -> dict[str, Any]:  # fmt: skip
    deadline = time.monotonic() + timeout
    while True:
        code, job = await api("GET", "jobs", job_id)
        assert code == 200, job
        if job["status"] in statuses:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job['status']} after {timeout} s: {job}")
        await asyncio.sleep(0.2)
