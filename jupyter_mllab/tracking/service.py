"""The runs table of a project: pages, comparisons and CSV, off the event loop.

Handlers wait for the tracking store (``ready(tracking=True)``) before calling in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .._threads import run_sync
from ..uris import link_uri
from .table import RunsTable
from .table.thinning import ALL, Window

if TYPE_CHECKING:
    from ..projects.store import ProjectStore
    from .experiments import ExperimentLink


def mlflow_ui_link(mlflow_ui_url: str, tracking_uri: str) -> str | None:
    """Where the same runs can be seen in MLflow's UI, if anywhere: the configured address,
    else the tracking URI when it is an http(s) server (credentials taken out)."""
    served = tracking_uri.startswith(("http://", "https://"))
    url = mlflow_ui_url or (tracking_uri if served else "")
    return link_uri(url.rstrip("/")) or None


class RunsService:
    def __init__(
        self,
        tracking_uri: str,
        experiments: ExperimentLink,
        projects: ProjectStore,
        mlflow_ui_url: str = "",
    ):
        self.table = RunsTable(tracking_uri)
        self.experiments = experiments
        self.projects = projects
        self.mlflow_ui = mlflow_ui_link(mlflow_ui_url, tracking_uri)

    def _page(self, project: str, **query: Any) -> dict[str, Any]:
        experiment_id = self.experiments.experiment_for(self.projects, project)
        page = self.table.page([experiment_id], **query)
        page["project"] = project
        page["experiment_id"] = experiment_id
        page["mlflow_ui"] = self.mlflow_ui
        return page

    async def page(self, project: str, **query: Any) -> dict[str, Any]:
        return await run_sync(self._page, project, **query)

    async def compare(
        self, run_ids: list[str], max_points: int = 500, window: Window = ALL
    ) -> dict[str, Any]:
        result = await run_sync(self.table.compare, run_ids, max_points, window)
        result["mlflow_ui"] = self.mlflow_ui
        return result

    async def csv(self, project: str, **query: Any) -> Iterator[str]:
        page = await run_sync(self._page, project, offset=0, limit=None, **query)
        return self.table.csv(page)
