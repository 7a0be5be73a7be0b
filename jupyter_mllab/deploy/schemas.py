"""The shapes of the deploy API (CONTRACT C3): services, their metrics and logs."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from ..schemas import Request, Response

# -- requests --------------------------------------------------------------------------------


class BatchingOptions(Request):
    enabled: bool = True
    max_rows: int = Field(default=64, ge=1, le=100_000)
    window_ms: float = Field(default=2.0, ge=0, le=1000)


class ServiceCreate(Request):
    """Deploy a registered version (``wine@3``), an alias (``wine@champion``) or a bundle."""

    reasons: ClassVar[dict[str, str]] = {
        "name": "invalid_name",
        "model": "invalid_key",
        "bundle": "bad_path",
        "port": "bad_port",
        "workers": "bad_workers",
        "batching": "bad_batching",
        "token": "bad_token",
    }

    project: str | None = None
    model: str | None = Field(default=None, min_length=1, max_length=300)
    bundle: str | None = Field(default=None, min_length=1, max_length=4096)
    name: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    port: int | None = Field(default=None, ge=1024, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    batching: BatchingOptions | None = None
    token: str | None = Field(default=None, min_length=16, max_length=200, pattern=r"^[!-~]+$")


class ServiceRedeploy(Request):
    reasons: ClassVar[dict[str, str]] = {"model": "invalid_key"}

    model: str = Field(min_length=1, max_length=300)


# -- responses -------------------------------------------------------------------------------


class ServiceSource(Response):
    model: str | None
    alias: str | None
    bundle: str | None


class ServiceModel(Response):
    name: str
    version: int | None
    key: str
    run_id: str | None


class Batching(Response):
    enabled: bool
    max_rows: int
    window_ms: float


class ServiceOptions(Response):
    workers: int
    batching: Batching
    max_body_bytes: int


class ServiceExample(Response):
    columns: list[str]
    data: list[list[Any]]


class Service(Response):
    name: str
    project: str
    status: Literal["starting", "running", "restarting", "stopping", "stopped", "failed"]
    ready: bool
    url: str
    port: int
    pid: int | None
    token: str
    proxy_url: str  # relative to the server's base URL
    source: ServiceSource
    model: ServiceModel | None
    options: ServiceOptions
    created_at: float
    started_at: float | None
    uptime_s: float | None
    restarts: int
    requests: int
    p50_ms: float | None
    error: str | None
    log_tail: list[str] | None
    input_example: ServiceExample | None


class ServiceList(Response):
    services: list[Service]


class ServiceLog(Response):
    text: str
    offset: int
    done: bool


class Latency(Response):
    p50: float | None
    p95: float | None
    p99: float | None


class StatsPoint(Response):
    t: float
    requests: int
    errors: int
    p50_ms: float | None
    p99_ms: float | None


class StatsRequest(Response):
    t: float
    method: str
    path: str
    status: int
    ms: float
    request_bytes: int
    response_bytes: int
    rows: int


class StatsBatching(Response):
    enabled: bool
    max_rows: int
    window_ms: float
    mean_batch_rows: float | None


class ServiceStats(Response):
    """CONTRACT C1's ``/mllab/stats`` as the service answers it (zeros when stopped)."""

    model_config = {"extra": "allow"}

    started_at: float | None
    ready: bool
    requests: int
    errors: dict[str, int]
    rows: int
    latency_ms: Latency
    series: list[StatsPoint]
    recent: list[StatsRequest]
    batching: StatsBatching | None
