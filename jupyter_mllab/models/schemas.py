"""The shapes of the models API (CONTRACT C5): registered models, versions, lineage."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from ..schemas import Request, Response

# -- requests --------------------------------------------------------------------------------


class AliasSet(Request):
    """Point an alias at a version of the model."""

    reasons: ClassVar[dict[str, str]] = {"version": "bad_version"}

    version: int = Field(gt=0)


class VersionPatch(Request):
    """Change a version's description and tags (``tags`` are set, ``remove_tags`` removed)."""

    reasons: ClassVar[dict[str, str]] = {
        "description": "bad_description",
        "tags": "bad_tags",
        "remove_tags": "bad_tags",
    }

    description: str | None = Field(default=None, max_length=5000)
    tags: dict[str, str] | None = None
    remove_tags: list[str] | None = None


class RegisterFromRun(Request):
    """Register an MLflow model that a run logged (by autolog, by ``mlflow.<flavor>``)."""

    reasons: ClassVar[dict[str, str]] = {
        "run_id": "bad_run_id",
        "artifact_path": "not_a_model",
        "name": "invalid_name",
        "alias": "invalid_alias",
        "description": "bad_description",
    }

    run_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    artifact_path: str = Field(min_length=1, max_length=500)
    name: str
    alias: str | None = None
    description: str | None = Field(default=None, max_length=5000)


# -- responses -------------------------------------------------------------------------------


class RegisteredModel(Response):
    name: str
    project: str
    key: str  # "project/name"
    registered_name: str  # MLflow's name, "project~name"
    description: str
    tags: dict[str, str]
    latest_version: int | None
    aliases: dict[str, int]  # alias -> version
    versions_count: int
    created: float  # epoch seconds
    updated: float


class RegisteredModelList(Response):
    models: list[RegisteredModel]


class ModelVersion(Response):
    name: str
    project: str
    version: int
    key: str  # "project/name@3"
    aliases: list[str]
    tags: dict[str, str]
    description: str
    run_id: str | None
    source: str
    status: str  # MLflow's: READY, PENDING_REGISTRATION, FAILED_REGISTRATION
    flavor: str | None  # keras | sklearn | xgboost | lightgbm | pytorch | pyfunc
    format: str | None  # mlflow | keras | savedmodel | onnx | bundle
    created: float  # epoch seconds
    created_by: str


class ModelVersionList(Response):
    versions: list[ModelVersion]
    total: int


class ColumnSpec(Response):
    name: str | None
    type: str


class Signature(Response):
    inputs: list[ColumnSpec] | None
    outputs: list[ColumnSpec] | None


class InputExample(Response):
    columns: list[str]
    data: list[list[Any]]
    truncated: bool = False  # rows left out (at most 20 rows / 64 KB are sent)


class ModelFile(Response):
    path: str
    size: int


class LineageRun(Response):
    run_id: str
    experiment_id: str
    run_name: str | None
    status: str
    job_id: str | None


class LineageNotebook(Response):
    path: str
    sha256: str | None


class LineageDataset(Response):
    key: str
    sha256: str
    project: str | None
    name: str | None
    version: int | None


class Lineage(Response):
    run: LineageRun | None  # None: the version names no run (or the run is gone)
    notebook: LineageNotebook | None
    git_commit: str | None
    params: dict[str, str]
    metrics: dict[str, float | None]
    datasets: list[LineageDataset]
    environment: dict[str, str]  # the run's mllab.env.* tags


class ModelVersionDetail(ModelVersion):
    signature: Signature
    input_example: InputExample | None
    metrics: dict[str, float | None]
    params: dict[str, str]
    files: list[ModelFile]
    files_truncated: bool = False
    lineage: Lineage


class LoggedModel(Response):
    artifact_path: str
    flavors: list[str]
    model_id: str | None = None  # MLflow 3's logged model (models:/m-...), if it is one


class RunModels(Response):
    logged: list[LoggedModel]
    registered: list[ModelVersion]


class UsageRun(Response):
    run_id: str
    run_name: str | None
    experiment_id: str
    job_id: str | None
    status: str


class DatasetUsage(Response):
    runs: list[UsageRun]
    models: list[ModelVersion]
