"""The runs table of a project: pages, comparisons and CSV, off the event loop."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .._threads import run_sync
from ..uris import link_uri
from .table import RunsTable

if TYPE_CHECKING:
    from ..lab import Lab


class RunsService:
    def __init__(self, lab: Lab):
        self.lab = lab
        self.table = RunsTable(lab.config.tracking_uri)

    @property
    def mlflow_ui(self) -> str | None:
        """Where the same runs can be seen in MLflow's UI, if anywhere."""
        config = self.lab.config
        url = config.mlflow_ui_url or (
            config.tracking_uri if config.tracking_uri.startswith(("http://", "https://")) else ""
        )
        return link_uri(url.rstrip("/")) or None

    def _experiment_id(self, project_name: str) -> str:
        project = self.lab.projects.store.get(project_name)
        experiment_id = self.lab.experiments.ensure(project)
        if experiment_id != project.experiment_id:
            self.lab.projects.store.set_experiment(project, experiment_id)
        return experiment_id

    def _page(self, project: str, **query: Any) -> dict[str, Any]:
        experiment_id = self._experiment_id(project)
        page = self.table.page([experiment_id], **query)
        page["project"] = project
        page["experiment_id"] = experiment_id
        page["mlflow_ui"] = self.mlflow_ui
        return page

    async def page(self, project: str, **query: Any) -> dict[str, Any]:
        await self.lab.tracking_ready()
        return await run_sync(self._page, project, **query)

    async def compare(self, run_ids: list[str]) -> dict[str, Any]:
        await self.lab.tracking_ready()
        result = await run_sync(self.table.compare, run_ids)
        result["mlflow_ui"] = self.mlflow_ui
        return result

    async def csv(self, project: str, **query: Any) -> Iterator[str]:
        await self.lab.tracking_ready()
        page = await run_sync(self._page, project, offset=0, limit=None, **query)
        return self.table.csv(page)
