"""The queue: hands QUEUED jobs to the executor, first in first out, at most
``max_concurrent_runs`` at once, GPUs through ``CUDA_VISIBLE_DEVICES``; turns the runner's
events into job state; recovers after a restart.

Built with what it uses (the job store, an executor class, the experiment link and the
project store, the lab's paths, the GPU count and two readiness awaitables), so that a
test builds one with an in-memory executor and no server (tests/test_scheduler.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._procs import kill_group
from .._threads import run_sync
from .executors import Executor
from .recording import mlflow_status
from .store import CANCELLED, COMPLETED, FAILED, QUEUED, RUNNING, TERMINAL, Job, JobStore
from .workdir import WorkdirLimits, remove_tree

if TYPE_CHECKING:
    from ..projects.store import ProjectStore
    from ..tracking.experiments import ExperimentLink

log = logging.getLogger(__name__)
POLL = 1.0  # seconds between looks at the table (kernels may submit by writing rows)
STOP_TRIES = 5  # cancels (a second apart) of the loop at shutdown
STOP_TIMEOUT = 10.0  # seconds the executor has to stop before its workers are killed


@dataclass
class Live:
    """What a running job reports that is not worth a database write."""

    cells_done: int = 0
    cells_total: int | None = None
    current_cell: int | None = None
    current_source: str | None = None
    cell_started: float = field(default_factory=time.time)
    usage: dict[str, Any] | None = None
    basis: list[float] | None = None  # cell durations of an earlier run, for the ETA
    gpus: list[int] = field(default_factory=list)


async def _at_once() -> None:
    """Readiness that needs no waiting (the default: nothing to set up first)."""


class Scheduler:
    """``ready`` is awaited before recovery and the first dispatch (the lab's database);
    ``tracking_ready`` before each dispatch that has work (MLflow's store). ``gpu_count``
    is a callable: the lab learns it during its set-up, after this is built."""

    def __init__(
        self,
        store: JobStore,
        executor_class: type[Executor],
        experiments: ExperimentLink,
        projects: ProjectStore,
        *,
        home: Path,
        tracking_uri: str,
        artifact_root: Path,
        slots: int,
        dask_scheduler_address: str = "",
        gpu_count: Callable[[], int] = lambda: 0,
        ready: Callable[[], Awaitable[None]] = _at_once,
        tracking_ready: Callable[[], Awaitable[None]] = _at_once,
        workdir_limits: WorkdirLimits | None = None,
    ):
        self.store = store
        self.experiments = experiments
        self.projects = projects
        self.home = home
        self.tracking_uri = tracking_uri
        self.artifact_root = artifact_root
        self.slots = slots
        self.gpu_count = gpu_count
        self.ready = ready
        self.tracking_ready = tracking_ready
        self.executor: Executor = executor_class(
            home, self.slots, self.on_event, dask_scheduler_address
        )
        self.live: dict[str, Live] = {}
        self.running: set[str] = set()
        self.cancelled: set[str] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._dispatching = asyncio.Lock()
        self._parent_runs: dict[str, str] = {}
        self.workdir_limits = workdir_limits or WorkdirLimits()
        self._expiring: dict[str, float] = {}  # job id -> when its work folder goes
        self._next_expiry_check = 0.0

    # -- life -----------------------------------------------------------------------------
    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._loop())

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        """Stop dispatching, then the executor; bounded, and the executor's workers are
        killed even when a step fails or this stop is cancelled."""
        self._stopping = True
        try:
            task = self._task
            for _ in range(STOP_TRIES):
                if task is None or task.done():
                    break
                # Again if need be: Python 3.11's wait_for can swallow a cancel that
                # lands as its inner wait ends; the loop also checks _stopping.
                task.cancel()
                await asyncio.wait({task}, timeout=1.0)
            else:
                log.error("The runs scheduler's loop did not stop in %s s", STOP_TRIES)
            stopping = asyncio.ensure_future(self.executor.stop())
            await asyncio.wait({stopping}, timeout=STOP_TIMEOUT)
            if stopping.done() and not stopping.cancelled() and stopping.exception():
                log.error("Stopping the executor failed", exc_info=stopping.exception())
        finally:
            self.executor.kill_all()

    async def _loop(self) -> None:
        await self.ready()
        await run_sync(self.recover)
        try:
            await run_sync(self.scan_workdirs)
        except Exception:
            log.exception("Looking for old working folders failed")
        while not self._stopping:
            try:
                await self.expire_workdirs()
                for job_id in await run_sync(self.store.cancel_requests):
                    await self.cancel(await run_sync(self.store.get, job_id, children=True))
                await self.dispatch()
            except Exception:
                log.exception("Dispatching runs failed")
            # Not asyncio.wait_for: on Python 3.11 it swallows a cancel that lands as
            # the wake-up does, and the server's stop then waited for ever (issue #12).
            woken = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait({woken}, timeout=POLL)
            finally:
                woken.cancel()
            self._wake.clear()

    def recover(self) -> None:
        """After a restart: runs that were RUNNING lost their worker (it died with the old
        server); kill what is left of their kernels and queue them again."""
        for job in self.store.running():
            if job.kernel_pid and self._is_our_kernel(job):
                kill_group(job.kernel_pid)
            if job.mlflow_run_id:
                with contextlib.suppress(Exception):
                    self.experiments.client.set_terminated(
                        job.mlflow_run_id, mlflow_status(CANCELLED)
                    )
            self.store.update(
                job.id,
                status=QUEUED,
                started=None,
                kernel_pid=None,
                mlflow_run_id=None,
                attempt=job.attempt + 1,
            )
            log.info("Job %s was running when the server stopped: queued again", job.id)

    # -- working folders' retention -------------------------------------------------------
    def workdir(self, job_id: str) -> Path:
        return self.store.job_dir(job_id) / "work"

    def scan_workdirs(self) -> None:
        """At start-up: the work folders of jobs that ended (also while the server was
        down) get their removal time: ``workdir_retention`` after the job ended."""
        jobs_dir = self.home / "jobs"
        if not jobs_dir.is_dir():
            return
        for entry in os.scandir(jobs_dir):
            if not os.path.isdir(os.path.join(entry.path, "work")):
                continue
            try:
                job = self.store.get(entry.name)
            except Exception:
                continue  # not a job of this store: not ours to remove
            if job.status in TERMINAL:
                self._expiring[job.id] = (job.finished or 0.0) + self.workdir_limits.retention

    async def expire_workdirs(self, now: float | None = None) -> None:
        """Remove the work folders whose retention is over (at most once a second)."""
        now = time.time() if now is None else now
        if not self._expiring or now < self._next_expiry_check:
            return
        self._next_expiry_check = now + 1.0
        due = [job_id for job_id, when in self._expiring.items() if when <= now]
        for job_id in due:
            self._expiring.pop(job_id, None)
            await run_sync(remove_tree, self.workdir(job_id))

    def _is_our_kernel(self, job: Job) -> bool:
        """Whether ``job.kernel_pid`` is still that job's kernel (a pid is reused after a
        reboot): a process group leader of this user, started before this server, that
        is a kernel of this lab (forked kernels carry the runs worker's command line,
        with this lab's home; launched ones have the job's id in their environment)."""
        import psutil

        try:
            proc = psutil.Process(job.kernel_pid)
            if os.getpgid(proc.pid) != proc.pid or proc.uids().real != os.getuid():
                return False
            if proc.create_time() > psutil.Process().create_time():
                return False
            cmdline = proc.cmdline()
            if "jupyter_mllab.jobs.worker" in cmdline and str(self.home) in cmdline:
                return True
            return proc.environ().get("MLLAB_JOB_ID") == job.id
        except (psutil.Error, OSError):
            return False

    # -- dispatch -------------------------------------------------------------------------
    async def dispatch(self) -> None:
        async with self._dispatching:
            if len(self.running) >= self.slots:
                return
            queued = await run_sync(self.store.queued)
            if not queued:
                return
            await self.tracking_ready()
            free_gpus = self._free_gpus()
            for job in queued:
                if len(self.running) >= self.slots:
                    break
                gpus: list[int] = []
                if job.gpus:
                    if len(free_gpus) < job.gpus:
                        continue  # held until devices free up; later CPU runs may pass
                    gpus, free_gpus = free_gpus[: job.gpus], free_gpus[job.gpus :]
                try:
                    spec = await run_sync(self._spec, job, gpus)
                except Exception as exc:
                    await run_sync(
                        self.store.finish,
                        job.id,
                        FAILED,
                        finished=time.time(),
                        error={"reason": "bad_job", "message": str(exc)},
                    )
                    await run_sync(self._settle_parent, job.parent_id)
                    continue
                claimed = await run_sync(
                    self.store.claim, job.id, mlflow_experiment_id=spec["experiment_id"]
                )
                if not claimed:
                    continue
                basis = await run_sync(self.store.last_cell_durations, job.notebook)
                self.live[job.id] = Live(basis=basis, gpus=gpus)
                self.running.add(job.id)
                try:
                    await self.executor.submit(spec)
                except Exception as exc:  # no worker, no cluster: the job ends, not hangs
                    log.warning("Job %s could not be started: %s", job.id, exc)
                    await self._finished(
                        job.id,
                        {
                            "status": FAILED,
                            "error": {"reason": "executor_error", "message": str(exc)},
                        },
                    )

    def _free_gpus(self) -> list[int]:
        count = self.gpu_count()
        used = {g for live in self.live.values() for g in live.gpus}
        return [i for i in range(count) if i not in used]

    def _spec(self, job: Job, gpus: list[int]) -> dict[str, Any]:
        """Everything a runner needs, read here so that it needs nothing of the server."""
        experiment_id = self.experiments.experiment_for(self.projects, job.project)
        parent_run = self._parent_run(job, experiment_id) if job.parent_id else None
        notebook = Path(job.notebook)
        job_dir = self.store.job_dir(job.id)
        job_dir.mkdir(parents=True, exist_ok=True)
        env = {
            "MLLAB_HOME": str(self.home),
            "MLFLOW_TRACKING_URI": self.tracking_uri,
            "MLLAB_ARTIFACT_ROOT": str(self.artifact_root),
            "MLLAB_PROJECT": job.project,
            "MLLAB_JOB_ID": job.id,
        }
        label = ", ".join(f"{k}={v}" for k, v in job.parameters.items())
        return {
            "id": job.id,
            "attempt": job.attempt,
            "parent_id": job.parent_id,
            "parent_run_id": parent_run,
            "project": job.project,
            "notebook": str(notebook),
            "notebook_content": notebook.read_text(encoding="utf-8"),
            "kernel": job.kernel,
            "parameters": job.parameters,
            "tags": job.tags,
            "datasets": job.datasets,
            "timeout": job.timeout,
            "cwd": str(notebook.parent),
            "env": env,
            "cuda_visible_devices": ",".join(map(str, gpus)) if job.gpus else None,
            "tracking_uri": self.tracking_uri,
            "experiment_id": experiment_id,
            "run_name": f"{notebook.stem}" + (f" ({label})" if label else ""),
            "output_path": str(job_dir / "output.ipynb"),
            "log_path": str(job_dir / "log.txt"),
            "in_place": bool(job.spec.get("in_place")),
            "outputs": job.spec.get("outputs"),
            "workdir": str(job_dir / "work"),
            "layout_path": str(job_dir / "layout.json"),
            "workdir_limits": {
                "max_files": self.workdir_limits.max_files,
                "max_bytes": self.workdir_limits.max_bytes,
                "max_total_bytes": self.workdir_limits.max_total_bytes,
            },
        }

    def _parent_run(self, job: Job, experiment_id: str) -> str:
        """The sweep's MLflow run (made once, when its first child starts)."""
        assert job.parent_id is not None
        if job.parent_id in self._parent_runs:
            return self._parent_runs[job.parent_id]
        parent = self.store.get(job.parent_id)
        if not parent.mlflow_run_id:
            client = self.experiments.client
            run = client.create_run(
                experiment_id,
                run_name=f"{Path(parent.notebook).stem} sweep",
                tags={
                    "mllab.job_id": parent.id,
                    "mllab.notebook": parent.notebook,
                    "mllab.project": parent.project,
                    "mllab.search": str(parent.spec.get("search", {}).get("kind", "grid")),
                    **{str(k): str(v) for k, v in parent.tags.items()},
                },
            )
            self.store.update(
                parent.id,
                mlflow_run_id=run.info.run_id,
                mlflow_experiment_id=experiment_id,
                status=RUNNING,
                started=time.time(),
            )
            parent.mlflow_run_id = run.info.run_id
        self._parent_runs[parent.id] = parent.mlflow_run_id
        return parent.mlflow_run_id

    def _settle_parent(self, parent_id: str | None) -> None:
        """A sweep ends when its last child does: FAILED if one failed, CANCELLED if one
        was cancelled, else COMPLETED; its MLflow run ends with it."""
        if not parent_id:
            return
        counts = self.store.child_counts([parent_id])[parent_id]
        if counts[QUEUED] or counts[RUNNING]:
            return
        status = FAILED if counts[FAILED] else CANCELLED if counts[CANCELLED] else COMPLETED
        if self.store.finish(parent_id, status, finished=time.time()):
            parent = self.store.get(parent_id)
            if parent.mlflow_run_id:
                with contextlib.suppress(Exception):
                    self.experiments.client.set_terminated(
                        parent.mlflow_run_id, mlflow_status(status)
                    )
            self._parent_runs.pop(parent_id, None)

    # -- events from runners --------------------------------------------------------------
    async def on_event(self, event: dict[str, Any]) -> None:
        job_id = event.get("job")
        if not job_id:
            return
        kind = event["type"]
        live = self.live.get(job_id)
        if kind == "started":
            await run_sync(
                self.store.update,
                job_id,
                started=event["started"],
                mlflow_run_id=event["mlflow_run_id"],
            )
        elif kind == "kernel":
            await run_sync(self.store.update, job_id, kernel_pid=event.get("kernel_pid"))
        elif kind == "progress" and live is not None:
            live.cells_done = event["cells_done"]
            live.cells_total = event["cells_total"]
            if event.get("current_cell") is not None:
                live.current_cell = event["current_cell"]
                live.current_source = event.get("current_source")
            live.cell_started = time.time()
        elif kind == "usage" and live is not None:
            live.usage = event["usage"]
        elif kind == "log":
            await run_sync(self._append_log, job_id, event.get("text", ""))
        elif kind == "finished":
            await self._finished(job_id, event)

    def _append_log(self, job_id: str, text: str) -> None:
        path = self.store.job_dir(job_id) / "log.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as f:
            f.write(text)

    async def _finished(self, job_id: str, event: dict[str, Any]) -> None:
        live = self.live.pop(job_id, None)
        self.running.discard(job_id)
        status = event.get("status", FAILED)
        if job_id in self.cancelled:
            self.cancelled.discard(job_id)
            if status != COMPLETED:
                status = CANCELLED
                event["error"] = {"reason": "cancelled", "message": "Cancelled."}

        def work() -> None:
            if event.get("output"):  # from a remote executor: keep it with the job
                out = self.store.job_dir(job_id) / "output.ipynb"
                out.parent.mkdir(parents=True, exist_ok=True)
                tmp = out.with_suffix(".tmp")
                tmp.write_text(event["output"], encoding="utf-8")
                os.replace(tmp, out)
            fields: dict[str, Any] = {
                "finished": event.get("finished") or time.time(),
                "error": event.get("error"),
                "summary": {k: v for k, v in (event.get("summary") or {}).items() if k != "series"}
                or None,
                "cell_durations": event.get("cell_durations"),
                "cells_total": live.cells_total if live else None,
            }
            if event.get("mlflow_run_id"):
                fields["mlflow_run_id"] = event["mlflow_run_id"]
            if event.get("started"):
                fields["started"] = event["started"]
            self.store.finish(job_id, status, **fields)
            job = self.store.get(job_id)
            self._settle_parent(job.parent_id)
            if job.kind == "run" and self.workdir(job_id).exists():
                if self.workdir_limits.retention <= 0:  # its outputs are saved by now
                    remove_tree(self.workdir(job_id))
                else:
                    self._expiring[job_id] = fields["finished"] + self.workdir_limits.retention

        await run_sync(work)
        self.wake()

    # -- cancel ---------------------------------------------------------------------------
    async def cancel(self, job: Job) -> None:
        ids = [c.id for c in job.children] if job.kind == "sweep" else [job.id]
        for job_id in ids:
            # Queued ones end at once; running ones when their kernel is gone.
            if await run_sync(self.store.cancel_queued, job_id, time.time()):
                continue
            if job_id in self.running:
                self.cancelled.add(job_id)
                await self.executor.cancel(job_id)
        if job.kind == "sweep":
            await run_sync(self._settle_parent, job.id)
        elif job.parent_id:
            await run_sync(self._settle_parent, job.parent_id)
        self.wake()

    # -- views ------------------------------------------------------------------------------
    def progress(self, job: Job) -> dict[str, Any] | None:
        live = self.live.get(job.id)
        if job.kind != "run":
            return None
        now = time.time()
        if live is None:
            if job.terminal and job.cells_total:
                done = len(job.cell_durations or []) or job.cells_total
                return {
                    "cells_done": done,
                    "cells_total": job.cells_total,
                    "current_cell": None,
                    "current_source": None,
                    "elapsed": job.duration,
                    "eta": 0.0 if job.status == COMPLETED else None,
                }
            return None
        eta = None
        if live.basis:
            rest = sum(live.basis[live.cells_done :])
            in_cell = now - live.cell_started
            eta = round(max(rest - in_cell, 0.0), 1)
        return {
            "cells_done": live.cells_done,
            "cells_total": live.cells_total,
            "current_cell": live.current_cell,
            "current_source": live.current_source,
            "elapsed": round(now - job.started, 1) if job.started else None,
            "eta": eta,
        }

    def usage(self, job: Job) -> dict[str, Any] | None:
        live = self.live.get(job.id)
        return live.usage if live else None
