"""``mllab.list_runs``: a page of the current project's runs, as the Runs table shows them."""

from __future__ import annotations

from typing import Any

from . import current_project, tracking_uri


def list_runs(
    filter: str = "",
    order_by: str | list[str] | None = None,
    *,
    project: str | None = None,
    status: str | None = None,
    sweep: str | None = None,
    notebook: str | None = None,
    dataset: str | None = None,
    tag: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> dict[str, Any]:
    """``{"runs": [...], "total", "columns", ...}``: runs of ``project`` (the current one by
    default) matching an MLflow filter (``"metrics.accuracy > 0.9"``) and quick filters,
    sorted by MLflow order clauses (``"metrics.accuracy DESC"``), newest first otherwise.
    ``dataset``: a key (``"wine@2"``, or ``"wine"`` for any version); ``tag``: ``"k=v"``."""
    from ..tracking.table import RunsTable
    from .tracking import _experiment_id

    quick = {
        "status": status,
        "sweep": sweep,
        "notebook": notebook,
        "dataset": dataset,
        "tag": tag,
    }
    orders = [order_by] if isinstance(order_by, str) else list(order_by or [])
    page = RunsTable(tracking_uri()).page(
        [_experiment_id(project or current_project())],
        filter_string=filter,
        order_by=orders,
        quick={k: v for k, v in quick.items() if v},
        offset=offset,
        limit=limit,
    )
    page["project"] = project or current_project()
    return page
