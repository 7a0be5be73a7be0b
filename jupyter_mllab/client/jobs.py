"""Tracked notebook runs from a kernel: submit, list, wait, cancel.

The lab's job table is also its queue: a kernel submits by inserting rows (checked the
same way the REST API checks them), and the server's scheduler, which looks at the table
every second, runs them. No HTTP, no token: the kernel shares the lab's home.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from . import current_project, home

TERMINAL = ("COMPLETED", "FAILED", "CANCELLED")


def _store() -> Any:
    from ..jobs.store import JobStore

    return JobStore(home())


def _view(job: Any) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "notebook": job.notebook,
        "parameters": job.parameters if job.kind == "run" else job.spec.get("parameters"),
        "project": job.project,
        "created": job.created,
        "started": job.started,
        "finished": job.finished,
        "duration": job.duration,
        "error": job.error,
        "mlflow_run_id": job.mlflow_run_id,
        "children": [_view(c) for c in job.children],
    }


def run_notebook(
    path: str | Path,
    parameters: dict[str, Any] | None = None,
    *,
    search: dict[str, Any] | None = None,
    project: str | None = None,
    kernel: str | None = None,
    timeout: float | None = None,
    tags: dict[str, str] | None = None,
    datasets: list[str] | None = None,
    gpus: int = 0,
    wait: bool = False,
    poll: float = 0.5,
) -> dict[str, Any]:
    """Queue ``path`` as a tracked run (a sweep when a parameter has ``{"values": [...]}``,
    a range or choices); with ``wait``, return once it has ended."""
    from ..jobs.submit import JobSubmitter
    from ..monitor.gpu import gpu_inventory

    body = {
        "parameters": parameters or {},
        "search": search,
        "kernel": kernel,
        "timeout": timeout,
        "tags": tags or {},
        "datasets": datasets or [],
        "gpus": gpus,
    }
    submitter = JobSubmitter(_store(), gpu_count=int(gpu_inventory()["count"]))
    notebook = Path(path).expanduser().resolve()
    accepted: list[str] = []  # parameters papermill injects without having read them
    job = submitter.submit(notebook, body, project=project or current_project(), warnings=accepted)
    if accepted:
        import warnings

        for message in accepted:
            warnings.warn(message, stacklevel=2)
    return wait_job(job.id, poll=poll) if wait else get_job(job.id)


def get_job(job_id: str) -> dict[str, Any]:
    return _view(_store().get(job_id, children=True))


def wait_job(job_id: str, *, poll: float = 0.5, timeout: float | None = None) -> dict[str, Any]:
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        job = get_job(job_id)
        if job["status"] in TERMINAL:
            return job
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"Job {job_id} is still {job['status']}.")
        time.sleep(poll)


def list_jobs(
    project: str | None = None, status: str | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    statuses = [s.strip().upper() for s in status.split(",")] if status else None
    jobs, _ = _store().list_jobs(
        project=project or current_project(), statuses=statuses, top=True, limit=limit
    )
    return [_view(j) for j in jobs]


def cancel_job(job_id: str, *, wait: float = 15.0) -> dict[str, Any]:
    """Ask the server to cancel a run or a sweep (it kills running kernels) and wait up to
    ``wait`` seconds for it to end."""
    store = _store()
    store.get(job_id)  # 404 for an unknown id
    store.request_cancel(job_id)
    try:
        return wait_job(job_id, poll=0.2, timeout=wait)
    except TimeoutError:
        return get_job(job_id)
