"""The job's JSON view (the ``Job`` schema of jobs/schemas.py), one function for the
server's REST API and the kernel client. Light: no pydantic, no server import."""

from __future__ import annotations

from typing import Any

from .store import QUEUED, RUNNING, Job


def job_view(
    job: Job,
    *,
    notebook: str,
    counts: dict[str, int] | None = None,
    queue_position: int | None = None,
    progress: dict[str, Any] | None = None,
    usage: dict[str, Any] | None = None,
    has_output: bool = False,
    children: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """``notebook``: the path as this caller shows it (relative to the server root on the
    server, absolute in a kernel); ``counts``: a sweep's runs per status; ``progress`` and
    ``usage``: what the scheduler knows live (the server only)."""
    status = job.status
    if job.kind == "sweep" and counts and status == QUEUED and counts.get(RUNNING):
        status = RUNNING
    view: dict[str, Any] = {
        "id": job.id,
        "kind": job.kind,
        "parent_id": job.parent_id,
        "project": job.project,
        "notebook": notebook,
        "kernel": job.kernel,
        "status": status,
        "parameters": job.parameters if job.kind == "run" else job.spec.get("parameters"),
        "search": job.spec.get("search") if job.kind == "sweep" else None,
        "tags": job.tags,
        "datasets": job.datasets,
        "gpus": job.gpus,
        "timeout": job.timeout,
        "created": job.created,
        "started": job.started,
        "finished": job.finished,
        "duration": round(job.duration, 3) if job.duration is not None else None,
        "error": job.error,
        "mlflow_run_id": job.mlflow_run_id,
        "mlflow_experiment_id": job.mlflow_experiment_id,
        "queue_position": queue_position,
        "progress": progress,
        "usage": usage,
        "summary": job.summary,
        "has_output": has_output,
        "workdir_mode": "in_place" if job.spec.get("in_place") else "isolated",
        "retry_of": job.retry_of,
        "attempt": job.attempt,
        "kernel_pid": job.kernel_pid if job.status == RUNNING else None,
        "counts": counts,
    }
    if children is not None:
        view["children"] = children
    return view
