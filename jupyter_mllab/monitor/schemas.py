"""The shapes of the hardware monitor API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict

from ..jobs.schemas import Progress, Usage
from ..schemas import Response


class GpuProcess(Response):
    pid: int
    memory_bytes: int


class Gpu(Response):
    index: int
    name: str | None = None
    utilization_percent: float | None = None
    memory_used_bytes: int | None = None
    memory_total_bytes: int | None = None
    temperature_c: float | None = None
    power_w: float | None = None
    processes: list[GpuProcess] | None = None


class Sample(Response):
    t: float
    cpu_percent: float
    cpu_per_core: list[float]
    load: list[float]
    memory_used_bytes: float
    memory_available_bytes: int
    memory_total_bytes: int
    swap_used_bytes: float
    swap_total_bytes: int
    disk_used_bytes: float
    disk_total_bytes: int
    disk_read_bps: float
    disk_write_bps: float
    net_recv_bps: float
    net_sent_bps: float
    gpus: list[Gpu]
    samples: int | None = None  # a minute's point: how many samples it averages


class Limits(Response):
    cpus: float | None
    memory_bytes: float | None


class MonitorJob(Response):
    id: str
    notebook: str
    parameters: dict[str, Any] | None
    usage: Usage | None
    progress: Progress | None


class Monitor(Response):
    latest: Sample
    limits: Limits
    gpu_error: str | None
    interval: float
    jobs: list[MonitorJob]


class MonitorHistory(Response):
    model_config = ConfigDict(extra="forbid")

    resolution: Literal["1s", "1m"]
    points: list[Sample]
