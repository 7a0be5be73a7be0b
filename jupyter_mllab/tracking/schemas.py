"""The shapes of the runs table (MLflow runs) and TensorBoard APIs."""

from __future__ import annotations

from pydantic import Field

from ..schemas import Response


class RunDataset(Response):
    name: str
    digest: str


class Run(Response):
    run_id: str
    name: str | None
    status: str
    start_time: int | None
    end_time: int | None
    duration: float | None
    experiment_id: str
    user: str | None
    params: dict[str, str]
    metrics: dict[str, float | None] = Field(description="Latest values; null for NaN/inf.")
    tags: dict[str, str]
    datasets: list[RunDataset]
    job_id: str | None
    notebook: str | None
    parent_run_id: str | None
    is_sweep: bool


class RunColumns(Response):
    params: list[str]
    metrics: list[str]
    tags: list[str]


class RunsPage(Response):
    runs: list[Run]
    total: int | None = Field(description="null when MLflow's client cannot count them.")
    offset: int
    limit: int | None
    columns: RunColumns
    filter: str
    order_by: list[str]
    project: str
    experiment_id: str
    mlflow_ui: str | None


class RunsCompare(Response):
    runs: list[Run]
    params: dict[str, bool] = Field(description="Which parameters differ between the runs.")
    metrics: dict[str, bool]
    histories: dict[str, dict[str, list[list[float | None]]]] = Field(
        description="{metric: {run_id: [[step, value], ...]}}"
    )
    mlflow_ui: str | None


class TensorBoardStatus(Response):
    run_id: str
    logdir: str
    available: bool
    running: bool
    installed: bool
    url: str = Field(description="The proxy's URL while it runs, else ''.")


class TensorBoardOpen(Response):
    run_id: str
    logdir: str
    url: str
