"""Jobs: submit (one run or a sweep), list, get, cancel, retry, logs, output, metrics.

Submitting is ``submit.JobSubmitter`` (plain Python over the store, which the kernel client
uses too); the ``JobService`` adds what needs the running server (the scheduler's live state).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._threads import run_sync
from ..errors import BadRequest, Conflict, NotFound
from ..logfiles import read_chunk
from ..tracking.table.thinning import ALL, Window
from .params import inspect_parameters
from .store import QUEUED, RUNNING, STATUSES, Job, JobStore
from .submit import JobSubmitter, _text, notebook_kernel, read_notebook
from .views import job_view

if TYPE_CHECKING:
    from ..projects.store import ProjectStore
    from ..tracking.table import RunsTable
    from .scheduler import Scheduler


class JobService:
    """Needs the job store, the scheduler (live state, wake-ups, cancels), the projects
    (which exist, which is current), the runs table (metric histories) and the GPU count
    (known once the lab is set up: hence a callable). ``metrics`` reads MLflow: its
    handler waits for the tracking store first."""

    def __init__(
        self,
        store: JobStore,
        scheduler: Scheduler,
        projects: ProjectStore,
        runs_table: RunsTable,
        *,
        gpu_count: Callable[[], int] = lambda: 0,
        max_sweep_runs: int = 1000,
    ):
        self.store = store
        self.scheduler = scheduler
        self.projects = projects
        self.runs_table = runs_table
        self.gpu_count = gpu_count
        self.max_sweep_runs = max_sweep_runs

    # -- paths ------------------------------------------------------------------------------
    def resolve_notebook(self, root: Path, path: Any) -> Path:
        """A notebook path from a request: relative to the server root, never outside."""
        path = _text(path, "notebook", 4096) if path is not None else None
        if not path:
            raise BadRequest("Say which notebook to run ('notebook').", reason="no_notebook")
        if "\0" in path or os.path.isabs(path) or path.startswith("~"):
            raise BadRequest(
                f"'{path}': give the notebook's path relative to the server root.",
                reason="outside_root",
            )
        root = root.resolve()
        full = (root / path).resolve()
        if full != root and root not in full.parents:
            raise BadRequest(f"'{path}' is outside the server root.", reason="outside_root")
        return full

    @staticmethod
    def relative(root: Path, path: str) -> str:
        try:
            return Path(path).relative_to(root.resolve()).as_posix()
        except ValueError:
            return path

    # -- API ------------------------------------------------------------------------------
    async def parameters(self, root: Path, path: Any) -> dict[str, Any]:
        full = self.resolve_notebook(root, path)

        def work() -> dict[str, Any]:
            nb = read_notebook(full)
            found = inspect_parameters(nb)
            return {
                "path": self.relative(root, str(full)),
                "kernel": notebook_kernel(nb, None),
                "has_parameters_cell": found.has_cell,
                "parameters": [p.to_json() for p in found.parameters],
                "warnings": found.warnings,
            }

        return await run_sync(work)

    async def submit(self, root: Path, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """``(job view, created)``; an idempotency key seen before gives the first job."""
        full = self.resolve_notebook(root, body.get("notebook"))
        project = body.get("project") or await run_sync(self.projects.get_current)
        await run_sync(self.projects.get, project)  # 404 for an unknown project
        submitter = JobSubmitter(
            self.store,
            gpu_count=self.gpu_count(),
            max_sweep_runs=self.max_sweep_runs,
        )
        started = time.time()
        warnings: list[str] = []
        job = await run_sync(submitter.submit, full, body, project=project, warnings=warnings)
        self.scheduler.wake()
        created = job.created >= started
        # What was accepted unchecked (papermill injects parameters it could not read).
        return {**await self.view(root, job.id), "warnings": warnings}, created

    async def plan(self, root: Path, body: dict[str, Any]) -> dict[str, Any]:
        """What ``submit`` would queue for ``body`` (its count and first runs), checked as
        ``submit`` checks it; nothing is queued."""
        first = body.pop("first", 10)
        full = self.resolve_notebook(root, body.get("notebook"))
        project = body.get("project") or await run_sync(self.projects.get_current)
        await run_sync(self.projects.get, project)  # 404 for an unknown project
        submitter = JobSubmitter(
            self.store, gpu_count=self.gpu_count(), max_sweep_runs=self.max_sweep_runs
        )
        warnings: list[str] = []
        checked = await run_sync(submitter.check, full, body, project=project, warnings=warnings)
        plan = checked.plan
        return {
            "count": len(plan.combinations),
            "search": plan.search,
            "runs": plan.combinations[:first],
            "warnings": warnings,
        }

    async def list(
        self,
        root: Path,
        *,
        project: str | None,
        statuses: list[str],
        notebook: str | None,
        sweep: str | None,
        top: bool,
        limit: int,
        offset: int,
    ) -> dict[str, Any]:
        bad = [s for s in statuses if s not in STATUSES]
        if bad:
            raise BadRequest(
                f"Unknown status {', '.join(bad)}; use {', '.join(STATUSES)}.", reason="bad_status"
            )
        if not 1 <= limit <= 500 or offset < 0:
            raise BadRequest("limit must be 1..500 and offset >= 0.", reason="bad_paging")
        nb_path = str(self.resolve_notebook(root, notebook)) if notebook else None

        def work() -> dict[str, Any]:
            jobs, total = self.store.list_jobs(
                project=project,
                statuses=statuses,
                notebook=nb_path,
                parent=sweep,
                top=top,
                limit=limit,
                offset=offset,
            )
            counts = self.store.child_counts([j.id for j in jobs if j.kind == "sweep"])
            positions = self.store.queue_positions([j.id for j in jobs])
            return {
                "jobs": [self._json(root, j, counts.get(j.id), positions) for j in jobs],
                "total": total,
            }

        return await run_sync(work)

    async def view(self, root: Path, job_id: str) -> dict[str, Any]:
        def work() -> dict[str, Any]:
            job = self.store.get(job_id, children=True)
            counts = self.store.child_counts([job.id]).get(job.id) if job.kind == "sweep" else None
            positions = self.store.queue_positions([job.id, *(c.id for c in job.children)])
            data = self._json(root, job, counts, positions)
            if job.kind == "sweep":
                data["children"] = [self._json(root, c, None, positions) for c in job.children]
            return data

        return await run_sync(work)

    def _json(
        self, root: Path, job: Job, counts: dict[str, int] | None, positions: dict[str, int]
    ) -> dict[str, Any]:
        return job_view(
            job,
            notebook=self.relative(root, job.notebook),
            counts=counts,
            queue_position=positions.get(job.id),
            progress=self.scheduler.progress(job),
            usage=self.scheduler.usage(job),
            has_output=(self.store.job_dir(job.id) / "output.ipynb").exists(),
        )

    async def cancel(self, root: Path, job_id: str) -> dict[str, Any]:
        job = await run_sync(self.store.get, job_id, children=True)
        if job.terminal:
            raise Conflict(f"Job {job_id} has ended already ({job.status}).", reason="job_ended")
        await self.scheduler.cancel(job)
        return await self.view(root, job_id)

    async def end_project_jobs(self, project: str, *, force: bool, timeout: float = 30) -> None:
        """Before a project is deleted: its queued and running jobs cancelled through the
        scheduler (running kernels killed, as a cancel does) and waited for, so that no
        run is left writing into a project that is gone. Without ``force``, a 409 while
        any is active; a job still running after ``timeout`` s is a 409 and nothing goes."""

        def active() -> list[Job]:
            jobs, _ = self.store.list_jobs(
                project=project, statuses=[QUEUED, RUNNING], top=True, limit=500
            )
            return [self.store.get(j.id, children=True) if j.kind == "sweep" else j for j in jobs]

        jobs = await run_sync(active)
        if jobs and not force:
            raise Conflict(
                f"Project '{project}' has {len(jobs)} queued or running job(s). Cancel them "
                "first, or delete the project and everything in it (force).",
                reason="not_empty",
            )
        deadline = time.monotonic() + timeout
        asked = 0.0
        while jobs:
            if time.monotonic() - asked >= 1.0:  # again: one may have started meanwhile
                asked = time.monotonic()
                for job in jobs:
                    await self.scheduler.cancel(job)
            if time.monotonic() > deadline:
                raise Conflict(
                    f"Project '{project}' still has {len(jobs)} job(s) stopping; nothing was "
                    "deleted. Try again in a moment.",
                    reason="jobs_stopping",
                )
            await asyncio.sleep(0.1)
            jobs = await run_sync(active)

    async def retry(self, root: Path, job_id: str, body: dict[str, Any]) -> dict[str, Any]:
        job = await run_sync(self.store.get, job_id)
        if (job.kind == "run" and job.parent_id is None) or job.kind == "run":
            parameters = job.parameters
        else:
            parameters = job.spec.get("parameters") or {}
        if "parameters" in body:
            parameters = body["parameters"]
        new_body = {
            "notebook": self.relative(root, job.notebook),
            "parameters": parameters,
            "search": job.spec.get("search") if job.kind == "sweep" else None,
            "kernel": job.kernel,
            "timeout": job.timeout,
            "tags": job.tags,
            "datasets": job.datasets,
            "gpus": job.gpus,
            "project": job.project,
            "retry_of": job.id,
            "in_place": bool(job.spec.get("in_place")),
            "outputs": job.spec.get("outputs"),
        }
        if "idempotency_key" in body:
            new_body["idempotency_key"] = body["idempotency_key"]
        view, _ = await self.submit(root, new_body)
        return view

    async def log(self, job_id: str, offset: int) -> dict[str, Any]:
        if offset < 0:
            raise BadRequest("offset must be >= 0.", reason="bad_offset")

        def work() -> dict[str, Any]:
            job = self.store.get(job_id)
            text, end, at_end = read_chunk(self.store.job_dir(job_id) / "log.txt", offset)
            return {"text": text, "offset": end, "done": job.terminal and at_end}

        return await run_sync(work)

    async def output(self, job_id: str) -> bytes:
        def work() -> bytes:
            self.store.get(job_id)
            path = self.store.job_dir(job_id) / "output.ipynb"
            if not path.exists():
                raise NotFound(f"Job {job_id} has no output notebook yet.", reason="no_output")
            return path.read_bytes()

        return await run_sync(work)

    async def metrics(
        self, job_id: str, max_points: int = 1000, window: Window = ALL
    ) -> dict[str, Any]:
        """The run's metric histories (the points in ``window``: after a step or a time, for
        a page that has the rest), each thinned (in SQL on SQLite) to ``max_points``."""

        def work() -> dict[str, Any]:
            job = self.store.get(job_id)
            if not job.mlflow_run_id:
                return {"metrics": {}}
            run_id = job.mlflow_run_id
            histories = self.runs_table.histories([run_id], max_points, None, window)
            return {
                "metrics": {
                    name: [{"step": s, "value": v, "timestamp": t} for s, v, t in series[run_id]]
                    for name, series in histories.items()
                    if run_id in series
                }
            }

        return await run_sync(work)
