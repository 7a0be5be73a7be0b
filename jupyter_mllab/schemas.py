"""Shared bits of the API's shapes: the base models, the Error reply, request parsing.

Pydantic is imported here, so this module (and every ``<domain>/schemas.py``) is imported
lazily: by ``base.py`` at a request's first use of a body, by ``openapi.py``, by tests. The
kernel side (``import jupyter_mllab``) never imports it.

Requests forbid fields they do not know and take JSON's types strictly (no "5" for 5);
responses list every field the server sends (``extra="forbid"``), so a field added on one
side only fails the response-checking tests.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import BadRequest

M = TypeVar("M", bound="Request")


class Request(BaseModel):
    """A request body. ``reasons`` maps a field to the reason code of its 400 (the codes
    clients and tests know); other fields get ``bad_field``."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
    reasons: ClassVar[dict[str, str]] = {}


class Response(BaseModel):
    """A response body: what the server sends, field by field."""

    model_config = ConfigDict(extra="forbid")


class Error(Response):
    """Every error reply (4xx and 5xx): ``{"message", "reason"}``, never a traceback."""

    message: str
    reason: str


class Empty(Request):
    """A body with nothing in it (``{}`` or none)."""


# -- lab-wide: GET info --------------------------------------------------------------


class GpuInfo(Response):
    available: bool
    count: int
    names: list[str]
    error: str | None = None  # why there is none (no NVML, no driver)


class ArchiveLimitsInfo(Response):
    max_entries: int
    max_total_bytes: int
    max_ratio: float


class WorkdirLimitsInfo(Response):
    """Runs' working folders and outputs (issue #17)."""

    max_files: int
    max_bytes: int
    max_total_bytes: int
    retention: float


class Info(Response):
    version: str
    home: str
    tracking_uri: str
    artifact_root: str
    executor: Literal["local", "dask"]
    max_concurrent_runs: int
    dask_scheduler_address: str
    tracking_setup: str
    mlflow_ui_url: str
    max_tensorboards: int
    max_upload_size: int
    max_sweep_runs: int
    max_queued_jobs: int
    monitor_interval: float
    archive_limits: ArchiveLimitsInfo
    workdir_limits: WorkdirLimitsInfo
    gpu: GpuInfo
    ready: bool
    tracking_error: str | None


def _where(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "body"


def parse(model: type[M], data: Any) -> M:
    """``data`` (a decoded JSON value) as ``model``; a 400 naming the first bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        loc = tuple(first.get("loc", ()))
        where = _where(loc)
        kind = first.get("type", "")
        if kind == "missing":
            message = f"'{where}' is required."
        elif kind == "extra_forbidden":
            known = ", ".join(f"'{n}'" for n in model.model_fields)
            message = f"'{where}': unknown field; the body takes {known}."
        else:
            message = f"'{where}': {first.get('msg', 'invalid value')}"
        field = str(loc[0]) if loc else ""
        reason = (
            model.reasons.get(f"{field}.{kind}")
            or model.reasons.get(field)
            or ("unknown_field" if kind == "extra_forbidden" else "bad_field")
        )
        raise BadRequest(message, reason=reason) from None


# -- templates: GET templates, POST templates/{id} ------------------------------------


class TemplateSlot(Response):
    """The variable of a template's parameters cell that takes a dataset key."""

    parameter: str
    media_types: list[str]
    columns: list[str]


class NotebookTemplate(Response):
    id: str
    title: str
    description: str
    category: str
    filename: str = Field(description="The new notebook's default file name.")
    order: int
    dataset: TemplateSlot | None
    datasets: list[str] = Field(
        description="Keys of the project's latest dataset versions that fit, newest first."
    )


class TemplateList(Response):
    templates: list[NotebookTemplate]


class TemplateCreate(Request):
    """Where the new notebook goes, and its dataset: a key, null for none, or left out
    for the project's newest version that fits."""

    reasons: ClassVar[dict[str, str]] = {
        "directory": "bad_path",
        "project": "invalid_name",
        "dataset": "invalid_key",
    }

    directory: str = ""
    project: str | None = None
    dataset: str | None = None


class TemplateCreated(Response):
    path: str = Field(description="The new notebook, relative to the server root.")
    dataset: str | None = Field(description="The dataset key filled in, or null.")
