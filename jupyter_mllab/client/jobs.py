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


def _view(store: Any, job: Any) -> dict[str, Any]:
    """The job as the REST API shows it (jobs/views.py), with its notebook's full path and
    (for a run too) its list of children."""
    from ..jobs.views import job_view

    ids = [job.id, *(c.id for c in job.children)]
    positions = store.queue_positions(ids)
    counts = store.child_counts([job.id]).get(job.id) if job.kind == "sweep" else None

    def one(j: Any, counts: dict[str, int] | None, children: list[Any] | None) -> dict[str, Any]:
        return job_view(
            j,
            notebook=j.notebook,
            counts=counts,
            queue_position=positions.get(j.id),
            has_output=(store.job_dir(j.id) / "output.ipynb").exists(),
            children=children,
        )

    return one(job, counts, [one(c, None, None) for c in job.children])


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
    """A run or sweep of the lab as the runs API shows it: status, progress, parameters,
    MLflow run id, and a sweep's children."""
    store = _store()
    return _view(store, store.get(job_id, children=True))


def wait_job(job_id: str, *, poll: float = 0.5, timeout: float | None = None) -> dict[str, Any]:
    """Wait until a run or sweep ends (COMPLETED, FAILED or CANCELLED) and return it;
    ``TimeoutError`` after ``timeout`` seconds."""
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
    """The newest runs and sweeps of ``project`` (default: the current one), at most
    ``limit``; ``status``: only those, e.g. ``"RUNNING,QUEUED"``."""
    statuses = [s.strip().upper() for s in status.split(",")] if status else None
    store = _store()
    jobs, _ = store.list_jobs(
        project=project or current_project(), statuses=statuses, top=True, limit=limit
    )
    return [_view(store, j) for j in jobs]


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
