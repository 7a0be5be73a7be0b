"""The services of one running lab: built by MLLabApp, reached by handlers as ``self.lab``."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ._threads import run_sync
from .datasets.archives import ArchiveLimits
from .datasets.service import DatasetService
from .monitor.gpu import gpu_inventory
from .projects.service import ProjectService
from .projects.store import ProjectStore
from .tracking.experiments import ExperimentLink

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LabConfig:
    version: str
    home: Path
    tracking_uri: str
    artifact_root: Path
    executor: str
    max_concurrent_runs: int
    dask_scheduler_address: str
    max_upload_size: int = 100 * 2**30
    archive_limits: ArchiveLimits = field(default_factory=ArchiveLimits)


class Lab:
    def __init__(
        self, config: LabConfig, project_service_class: type[ProjectService] = ProjectService
    ):
        self.config = config
        self.experiments = ExperimentLink(config.tracking_uri, config.artifact_root)
        store = ProjectStore(config.home)
        self.projects = project_service_class(store, self.experiments)
        self.datasets = DatasetService(store, config.max_upload_size, config.archive_limits)
        self.projects.register_counter("datasets", self.datasets.store.count)
        self.projects.register_cleanup(self.datasets.store.forget_project)
        self.gpu: dict[str, Any] | None = None
        self._startup: asyncio.Future[None] | None = None

    def _startup_sync(self) -> None:
        self.config.home.mkdir(parents=True, exist_ok=True)
        self.config.artifact_root.mkdir(parents=True, exist_ok=True)
        self.gpu = gpu_inventory()
        # The first use of a new SQLite MLflow store spends about 1.6 s creating its schema.
        self.projects.startup()
        self.datasets.startup()

    async def ready(self) -> None:
        """Wait for the one-time set-up, started on first call; a failed set-up is retried."""
        if self._startup is None or (self._startup.done() and self._startup.exception()):
            self._startup = asyncio.ensure_future(run_sync(self._startup_sync))
        await asyncio.shield(self._startup)

    @property
    def is_ready(self) -> bool:
        return bool(self._startup and self._startup.done() and not self._startup.exception())

    def info(self) -> dict[str, Any]:
        data = asdict(self.config)
        data["home"] = str(self.config.home)
        data["artifact_root"] = str(self.config.artifact_root)
        data["gpu"] = self.gpu or {"available": False, "count": 0, "names": []}
        data["ready"] = self.is_ready
        data["archive_limits"] = asdict(self.config.archive_limits)
        return data
