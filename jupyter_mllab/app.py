"""MLLabApp: the Jupyter server extension. Configuration, services, one route table."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Enum, Float, Integer, Type, Unicode, default, validate

from . import __version__, paths
from .datasets.archives import ArchiveLimits
from .datasets.handlers import ROUTES as DATASET_ROUTES
from .deploy.handlers import ROUTES as DEPLOY_ROUTES
from .handlers import InfoHandler
from .jobs.executors import EXECUTORS, Executor
from .jobs.handlers import ROUTES as JOB_ROUTES
from .jobs.outputs_handlers import ROUTES as JOB_OUTPUT_ROUTES
from .jobs.scheduler import Scheduler
from .jobs.workdir import WorkdirLimits
from .lab import Lab, LabConfig
from .models.handlers import ROUTES as MODEL_ROUTES
from .monitor.handlers import ROUTES as MONITOR_ROUTES
from .projects.handlers import ROUTES as PROJECT_ROUTES
from .projects.service import ProjectService
from .templates_handlers import ROUTES as TEMPLATE_ROUTES
from .tracking.handlers import ROUTES as RUN_ROUTES
from .tracking.tensorboard_handlers import ROUTES as TENSORBOARD_ROUTES
from .uris import install_log_redaction, redact_uri

API = "mllab/api"


def route_table() -> list[tuple[str, Any]]:
    """Every route of the extension, relative to the server's base URL."""
    routes: list[tuple[str, Any]] = [(r"info", InfoHandler)]
    routes += PROJECT_ROUTES
    routes += DATASET_ROUTES
    routes += JOB_ROUTES
    routes += JOB_OUTPUT_ROUTES
    routes += MONITOR_ROUTES
    routes += RUN_ROUTES
    routes += TENSORBOARD_ROUTES
    routes += MODEL_ROUTES
    routes += DEPLOY_ROUTES
    routes += TEMPLATE_ROUTES
    return [(f"/{API}/{pattern}", handler) for pattern, handler in routes]


class MLLabApp(ExtensionApp):
    name = "jupyter_mllab"
    description = "An ML lab inside JupyterLab: projects, datasets, tracked experiments, models."
    load_other_extensions = True

    home = Unicode(
        "",
        config=True,
        help="Where the lab keeps everything (default: <root_dir>/.mllab, or $MLLAB_HOME).",
    )
    tracking_uri = Unicode(
        "",
        config=True,
        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite:///<home>/mlflow.db).",
    )
    artifact_root = Unicode(
        "", config=True, help="Where run artifacts go (default: <home>/artifacts)."
    )
    max_concurrent_runs = Integer(
        config=True, help="At most this many runs execute at once (default: the CPU count)."
    )
    executor = Enum(
        ["local", "dask"],
        default_value="local",
        config=True,
        help="Where runs execute: 'local' subprocesses, or a Dask cluster.",
    )
    dask_scheduler_address = Unicode(
        "", config=True, help="Address of the Dask scheduler, for executor='dask'."
    )
    mlflow_ui_url = Unicode(
        "",
        config=True,
        help="Address of an MLflow UI showing the same store (for 'Open in MLflow' links; "
        "default: the tracking URI when it is an http(s) server, else none).",
    )
    max_sweep_runs = Integer(
        1000, config=True, help="At most this many runs in one sweep (grid or random search)."
    )
    max_queued_jobs = Integer(
        10_000,
        config=True,
        help="At most this many runs wait in the queue (a sweep counts each of its runs); "
        "a submit beyond it gets 429. Kernels' submits obey it too.",
    )
    monitor_interval = Float(
        1.0,
        config=True,
        help="Seconds between samples of the machine's CPU, memory, disk, network and GPUs "
        "(0 turns the sampler off).",
    )
    max_tensorboards = Integer(
        3,
        config=True,
        help="At most this many TensorBoards run at once; opening one more stops the "
        "least recently used.",
    )
    max_upload_size = Integer(
        100 * 2**30, config=True, help="Largest dataset upload in bytes (bigger ones get 413)."
    )
    max_archive_entries = Integer(
        100_000, config=True, help="At most this many entries in an archive to extract."
    )
    max_archive_bytes = Integer(
        50 * 2**30, config=True, help="At most this many bytes extracted from one archive."
    )
    max_archive_ratio = Float(
        200.0,
        config=True,
        help="An archive may expand to at most this many times its size (zip bombs).",
    )
    workdir_max_files = Integer(
        20_000,
        config=True,
        help="At most this many files of the notebook's folder are laid out in a run's "
        "working folder (the rest is left out, with a warning).",
    )
    workdir_max_bytes = Integer(
        50 * 2**30,
        config=True,
        help="At most this many bytes of the notebook's folder are laid out in a run's "
        "working folder (the rest is left out, with a warning).",
    )
    outputs_max_total_bytes = Integer(
        2 * 2**30,
        config=True,
        help="At most this many bytes of a run's output files are saved as its MLflow "
        "artifacts (the rest are listed in outputs.json, not saved).",
    )
    workdir_retention = Float(
        86400.0,
        config=True,
        help="Seconds a run's working folder is kept after the run ends (0: removed as "
        "soon as its outputs are saved).",
    )
    tracking_setup = Enum(
        ["process", "thread"],
        default_value="process",
        config=True,
        help="Where the tracking store is prepared at start: a child process (keeps the "
        "server responsive while JupyterLab starts) or a thread (when mlflow is imported "
        "already, as in tests).",
    )
    stop_services_on_exit = Bool(
        False,
        config=True,
        help="Stop the model services when the server stops (default: they run on, and the "
        "next server re-adopts them).",
    )
    project_service_class = Type(
        default_value=ProjectService,
        klass=ProjectService,
        config=True,
        help="The projects service (swappable for tests).",
    )
    scheduler_class = Type(
        default_value=Scheduler,
        klass=Scheduler,
        config=True,
        help="The jobs queue: dispatch, GPUs, sweeps, recovery (swappable for tests).",
    )
    executor_class = Type(
        klass=Executor,
        config=True,
        help="Where jobs execute (default: the class 'executor' names, LocalExecutor or "
        "DaskExecutor); set, it wins over 'executor'. Tests swap in an in-memory one.",
    )

    @default("executor_class")
    def _default_executor_class(self) -> type[Executor]:
        return EXECUTORS[self.executor]

    @default("max_concurrent_runs")
    def _default_max_concurrent_runs(self) -> int:
        return os.cpu_count() or 1

    @validate("max_concurrent_runs")
    def _check_max_concurrent_runs(self, proposal: Any) -> int:
        if proposal["value"] < 1:
            raise ValueError("max_concurrent_runs must be at least 1")
        return int(proposal["value"])

    @validate("max_queued_jobs")
    def _check_max_queued_jobs(self, proposal: Any) -> int:
        if proposal["value"] < 1:
            raise ValueError("max_queued_jobs must be at least 1")
        return int(proposal["value"])

    def _lab_config(self) -> LabConfig:
        root = self.serverapp.root_dir if self.serverapp else os.getcwd()
        home = Path(self.home).expanduser().resolve() if self.home else paths.default_home(root)
        return LabConfig(
            version=__version__,
            home=home,
            tracking_uri=self.tracking_uri or paths.default_tracking_uri(home),
            artifact_root=(
                Path(self.artifact_root).expanduser().resolve()
                if self.artifact_root
                else paths.default_artifact_root(home)
            ),
            executor=self.executor,
            max_concurrent_runs=self.max_concurrent_runs,
            dask_scheduler_address=self.dask_scheduler_address,
            mlflow_ui_url=self.mlflow_ui_url,
            max_sweep_runs=self.max_sweep_runs,
            max_queued_jobs=self.max_queued_jobs,
            monitor_interval=self.monitor_interval,
            tracking_setup=self.tracking_setup,
            max_upload_size=self.max_upload_size,
            max_tensorboards=self.max_tensorboards,
            root_dir=Path(root).expanduser().resolve(),
            stop_services_on_exit=self.stop_services_on_exit,
            archive_limits=ArchiveLimits(
                max_entries=self.max_archive_entries,
                max_total_bytes=self.max_archive_bytes,
                max_ratio=self.max_archive_ratio,
            ),
            workdir_limits=WorkdirLimits(
                max_files=self.workdir_max_files,
                max_bytes=self.workdir_max_bytes,
                max_total_bytes=self.outputs_max_total_bytes,
                retention=self.workdir_retention,
            ),
        )

    def initialize_settings(self) -> None:
        config = self._lab_config()
        if config.executor == "dask" and not config.dask_scheduler_address:
            self.log.warning("executor='dask' needs MLLabApp.dask_scheduler_address to be set")
        # Kernels and runs started by this server inherit these, so they use the same home.
        os.environ[paths.HOME_ENV] = str(config.home)
        os.environ[paths.TRACKING_ENV] = config.tracking_uri
        os.environ[paths.ARTIFACTS_ENV] = str(config.artifact_root)
        self.lab = Lab(
            config,
            project_service_class=self.project_service_class,
            scheduler_class=self.scheduler_class,
            executor_class=self.executor_class,
        )
        self.settings["mllab"] = self.lab
        install_log_redaction(self.log)
        self.log.info(
            "ML Lab home: %s (tracking: %s)", config.home, redact_uri(config.tracking_uri)
        )

    def initialize_handlers(self) -> None:
        self.handlers.extend(route_table())

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        # Slow set-up (MLflow's schema, the default project) runs off the event loop, now,
        # so that the first request finds it done.
        self.lab.start().add_done_callback(self._report_startup)

    async def stop_extension(self) -> None:
        await self.lab.stop()

    def _report_startup(self, task: asyncio.Future[None]) -> None:
        if task.cancelled():
            return
        if task.exception():
            self.log.error("ML Lab set-up failed: %s", task.exception())
