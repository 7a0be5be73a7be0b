"""The services of one running lab: built by MLLabApp, reached by handlers as ``self.lab``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from collections.abc import Awaitable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ._procs import child_options, kill_group
from ._threads import run_sync
from .datasets.archives import ArchiveLimits
from .datasets.service import DatasetService
from .deploy.service import DeployService
from .deploy.sources import ModelSources
from .deploy.store import ServiceStore
from .deploy.supervisor import Supervisor
from .jobs.executors import EXECUTORS, Executor
from .jobs.outputs_service import JobOutputsService
from .jobs.scheduler import Scheduler
from .jobs.service import JobService
from .jobs.store import JobStore
from .jobs.workdir import WorkdirLimits
from .models.service import ModelService
from .models.store import ModelRegistry
from .monitor.gpu import gpu_inventory
from .monitor.sampler import Sampler
from .projects.service import ProjectService
from .projects.store import DEFAULT_PROJECT, ProjectStore
from .tracking.experiments import ExperimentLink
from .tracking.service import RunsService
from .tracking.tensorboard import TensorBoardManager
from .uris import redact_text, redact_uri

log = logging.getLogger(__name__)
# Seconds each step of the lab's stop may take before the next one runs anyway.
# The "thread" tracking set-up cannot be interrupted: left running, it would hold the
# GIL into whatever this process does next (and two MLflow schema migrations in one
# process at once break each other: alembic's op proxy is global), so it gets longer.
STOP_TIMEOUTS = {
    "services": 30.0,
    "tensorboard": 15.0,
    "scheduler": 25.0,
    "child": 3.0,
    "setup_thread": 120.0,
}


async def _bounded(step: Awaitable[Any], timeout: float, what: str) -> None:
    """Await ``step`` for at most ``timeout`` seconds; log (never raise) what went wrong,
    so that one stuck or failing step does not keep the others from running."""
    task = asyncio.ensure_future(step)
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if not done:
        log.error("Stopping %s took over %.0f s; going on without it", what, timeout)
        task.cancel()
    elif not task.cancelled() and task.exception() is not None:
        log.error("Stopping %s failed", what, exc_info=task.exception())


@dataclass(frozen=True)
class LabConfig:
    version: str
    home: Path
    tracking_uri: str
    artifact_root: Path
    executor: str
    max_concurrent_runs: int
    dask_scheduler_address: str
    tracking_setup: str = "process"
    mlflow_ui_url: str = ""
    max_tensorboards: int = 3
    max_upload_size: int = 100 * 2**30
    max_sweep_runs: int = 1000
    max_queued_jobs: int = 10_000
    monitor_interval: float = 1.0
    archive_limits: ArchiveLimits = field(default_factory=ArchiveLimits)
    workdir_limits: WorkdirLimits = field(default_factory=WorkdirLimits)
    root_dir: Path | None = None  # the Jupyter root (bundles are deployed from it)
    stop_services_on_exit: bool = False
    # False: a process that uses the lab's services without being the lab (the CLI on a
    # home no lab runs on) neither starts nor adopts model services.
    supervise_services: bool = True


class Lab:
    """Builds each service with exactly what it uses; the only module (with app.py and the
    handlers' base.py) that knows them all."""

    def __init__(
        self,
        config: LabConfig,
        project_service_class: type[ProjectService] = ProjectService,
        scheduler_class: type[Scheduler] = Scheduler,
        executor_class: type[Executor] | None = None,
    ):
        self.config = config
        self.gpu: dict[str, Any] | None = None
        self.experiments = ExperimentLink(config.tracking_uri, config.artifact_root)
        self.tensorboard = TensorBoardManager(
            config.home, config.tracking_uri, max_running=config.max_tensorboards
        )
        store = ProjectStore(config.home)
        self.projects = project_service_class(store, self.experiments)
        self.runs = RunsService(
            config.tracking_uri, self.experiments, store, mlflow_ui_url=config.mlflow_ui_url
        )
        self.datasets = DatasetService(store, config.max_upload_size, config.archive_limits)
        self.projects.register_counter("datasets", self.datasets.store.count)
        self.projects.register_cleanup(self.datasets.store.forget_project)
        self.models = ModelService(
            ModelRegistry(config.tracking_uri, prepare=self.experiments.prepare_store),
            self.experiments,
            store,
            self.datasets.store,
            cache_dir=config.home / "cache" / "models",
        )
        # Counted once MLflow's store is ready: a registry call before it could migrate
        # the schema alongside the tracking set-up.
        self.projects.register_counter(
            "models", lambda p: self.models.count(p) if self.is_ready else 0
        )
        self.projects.register_rename(self.models.rename_project)
        self.projects.register_cleanup(self.models.forget_project)
        service_store = ServiceStore(config.home)
        sources = ModelSources(self.models.registry, store, config.root_dir or Path.cwd())
        self.supervisor = Supervisor(
            service_store, sources, stop_on_exit=config.stop_services_on_exit
        )
        self.deploy = DeployService(service_store, sources, self.supervisor, self.models.bundle)
        self.models.alias_listeners.append(self.supervisor.alias_moved)
        self.models.version_guards.append(self.deploy.served_by)
        self.projects.register_before_delete(
            lambda p, force: self.deploy.end_project_services(p.name, force)
        )
        self.projects.register_rename(service_store.rename_project)
        self.job_store = JobStore(config.home)
        self.scheduler = scheduler_class(
            self.job_store,
            executor_class or EXECUTORS[config.executor],
            self.experiments,
            store,
            home=config.home,
            tracking_uri=config.tracking_uri,
            artifact_root=config.artifact_root,
            slots=config.max_concurrent_runs,
            dask_scheduler_address=config.dask_scheduler_address,
            gpu_count=self.gpu_count,
            ready=self.ready,
            tracking_ready=self.tracking_ready,
            workdir_limits=config.workdir_limits,
        )
        self.jobs = JobService(
            self.job_store,
            self.scheduler,
            store,
            self.runs.table,
            gpu_count=self.gpu_count,
            max_sweep_runs=config.max_sweep_runs,
        )
        self.outputs = JobOutputsService(
            self.job_store, self.datasets.store, lambda: self.experiments.client, config.home
        )
        self.projects.register_cleanup(self.outputs.forget_project)  # before its jobs go
        self.projects.register_before_delete(
            lambda p, force: self.jobs.end_project_jobs(p.name, force=force)
        )
        self.projects.register_cleanup(lambda p: self.job_store.forget_project(p.name))
        self.projects.register_rename(self.job_store.rename_project)
        self.monitor = Sampler(config.home, config.monitor_interval or 1.0)
        self.tracking_error: list[str] = []
        self._startup: asyncio.Future[None] | None = None
        self._tracking_proc: asyncio.subprocess.Process | None = None
        self._tracking: asyncio.Future[None] | None = None

    def _startup_sync(self) -> None:
        self.config.home.mkdir(parents=True, exist_ok=True)
        self.config.artifact_root.mkdir(parents=True, exist_ok=True)
        self.gpu = gpu_inventory()
        self.projects.store.db.migrate()
        self.projects.store.ensure(DEFAULT_PROJECT)
        self.datasets.startup()
        self.job_store.set_max_queued(self.config.max_queued_jobs)

    async def _startup_all(self) -> None:
        await run_sync(self._startup_sync)
        self._tracking = asyncio.ensure_future(self._prepare_tracking())
        self.scheduler.start()
        if self.config.supervise_services:
            self.supervisor.start(self.tracking_ready)
        if self.config.monitor_interval > 0:
            self.monitor.start()

    async def _prepare_tracking(self) -> None:
        """MLflow's store and the default project's experiment, made in a child process
        (mlflow's import and schema migrations would otherwise hold this server's GIL)."""
        if self.config.tracking_setup == "thread":
            try:
                await run_sync(self.projects.startup)
            except Exception as exc:
                self.tracking_error = [redact_text(str(exc))]
                log.error("Preparing the tracking store failed: %s", self.tracking_error[0])
            return
        # Its arguments go through stdin: the tracking URI may hold a password, and a
        # command line is readable by every local user. It dies with the server.
        arguments = {
            "home": str(self.config.home),
            "tracking_uri": self.config.tracking_uri,
            "artifact_root": str(self.config.artifact_root),
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "jupyter_mllab.tracking.prepare",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            **child_options(),
        )
        self._tracking_proc = proc
        _, err = await proc.communicate(json.dumps(arguments).encode())
        if proc.returncode != 0:
            # Not fatal: projects work without their experiments, which are created on use.
            last = err.decode(errors="replace").strip().splitlines()[-1:]
            self.tracking_error = [redact_text(line) for line in last] or [
                f"exit code {proc.returncode}"
            ]
            log.error("Preparing the tracking store failed: %s", self.tracking_error[0])
        # MLflow imported once, in one thread, before anything that waits for tracking
        # uses it: threads importing its submodules at once (the scheduler's first run,
        # a panel's query) trip CPython's import deadlock detection, which hands one of
        # them a half-made module ("partially initialized module 'mlflow' has no
        # attribute 'version'": a fresh lab's first runs failed so, in the browser tests).
        await run_sync(_import_mlflow)

    def start(self) -> asyncio.Future[None]:
        """Start the one-time set-up (again, if it failed); returns its future."""
        if self._startup is None or (self._startup.done() and self._startup.exception()):
            self._startup = asyncio.ensure_future(self._startup_all())
        return self._startup

    async def ready(self) -> None:
        """Wait for the local set-up (home, database, default project): milliseconds."""
        await asyncio.shield(self.start())

    async def tracking_ready(self) -> None:
        """Wait, also, for the tracking store (what creating experiments needs)."""
        await self.ready()
        assert self._tracking is not None
        await asyncio.shield(self._tracking)

    async def stop(self) -> None:
        """Stop everything the lab started. Each step has a deadline and a failing step
        does not keep the next from running; whatever happens (a step raises, this stop
        is cancelled), every child's process group is killed at the end."""
        try:
            self.monitor.stop()
            await _bounded(self.supervisor.shutdown(), STOP_TIMEOUTS["services"], "model services")
            await _bounded(self.tensorboard.stop_all(), STOP_TIMEOUTS["tensorboard"], "TensorBoard")
            await _bounded(self.scheduler.stop(), STOP_TIMEOUTS["scheduler"], "the runs scheduler")
            proc = self._tracking_proc
            if proc is not None and proc.returncode is None:
                kill_group(proc.pid)
                await _bounded(proc.wait(), STOP_TIMEOUTS["child"], "the tracking set-up")
            if self._tracking is not None and not self._tracking.done():
                # "thread" set-up: a blocking MLflow call that cannot be interrupted.
                await _bounded(
                    asyncio.shield(self._tracking),
                    STOP_TIMEOUTS["setup_thread"],
                    "the tracking set-up",
                )
            self.datasets.shutdown()
        finally:
            self.kill_children()

    def kill_children(self) -> None:
        """SIGKILL the process groups of every child the lab started (synchronous)."""
        with contextlib.suppress(Exception):
            self.scheduler.executor.kill_all()
        with contextlib.suppress(Exception):
            self.tensorboard.kill_all()
        with contextlib.suppress(Exception):
            self.supervisor.kill_all()
        proc = self._tracking_proc
        if proc is not None and proc.returncode is None:
            kill_group(proc.pid)

    def gpu_count(self) -> int:
        """GPUs this machine has (0 until the set-up has looked)."""
        return int((self.gpu or {}).get("count") or 0)

    @property
    def is_ready(self) -> bool:
        """Local set-up and the tracking store both done."""
        return bool(self._tracking and self._tracking.done())

    def info(self) -> dict[str, Any]:
        data = asdict(self.config)
        for key in ("root_dir", "stop_services_on_exit", "supervise_services"):
            data.pop(key)
        for key in ("tracking_uri", "mlflow_ui_url", "dask_scheduler_address"):
            data[key] = redact_uri(data[key])
        data["home"] = str(self.config.home)
        data["artifact_root"] = str(self.config.artifact_root)
        data["gpu"] = self.gpu or {"available": False, "count": 0, "names": []}
        data["ready"] = self.is_ready
        data["archive_limits"] = asdict(self.config.archive_limits)
        data["tracking_error"] = self.tracking_error[0] if self.tracking_error else None
        return data


def _import_mlflow() -> None:
    import mlflow.tracking  # noqa: F401
