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
            raise AssertionError(
                f"job {job_id} still {job['status']} after {timeout} s: {job}\n"
                + await _what_is_going_on(api, job)
            )
        await asyncio.sleep(0.2)


async def _what_is_going_on(api: Any, job: dict[str, Any]) -> str:
    """For a run that did not end in time: its log (and its children's), the machine's
    load and our processes, so that a slow or stuck CI machine explains itself."""
    import os

    import psutil

    lines = [f"load average: {os.getloadavg()}"]
    for one in [job, *job.get("children", [])]:
        code, log = await api("GET", "jobs", one["id"], "log")
        text = log.get("text", "") if code == 200 else str(log)
        lines.append(f"--- log of {one['id']} ({one['status']}):\n{text[-2000:]}")
    lines.append("--- processes:")
    for p in psutil.process_iter(["pid", "ppid", "status", "cpu_percent", "cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if any(k in cmd for k in ("jupyter", "ipykernel", "mllab", "pytest", "papermill")):
            lines.append(f"{p.info['pid']} {p.info['ppid']} {p.info['status']} {cmd[:160]}")
    return "\n".join(lines)
