"""The machine's figures, once a second, on a thread: CPU, memory, disk, network, GPUs.

History lives in two ring buffers (1 s for the last hour, 1 min for the last day), in the
server's memory, so a browser reload finds it. psutil and NVML calls never run on the
event loop. NVML is initialized on first use; no GPU, or no NVML, is a normal state.
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from pathlib import Path
from typing import Any

from .probe import Gpus, Probe, cgroup_limits

__all__ = ["Gpus", "Probe", "Sampler", "cgroup_limits", "downsample", "prometheus"]

SECOND_POINTS = 3600  # 1 s resolution, one hour
MINUTE_POINTS = 1440  # 1 min resolution, one day


class Sampler(Probe):
    """Samples once per ``interval`` on a daemon thread; keeps the history."""

    def __init__(self, disk_path: Path, interval: float = 1.0):
        super().__init__(disk_path)
        self.interval = interval
        self.limits = cgroup_limits()
        self.seconds: deque[dict[str, Any]] = deque(maxlen=SECOND_POINTS)
        self.minutes: deque[dict[str, Any]] = deque(maxlen=MINUTE_POINTS)
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, daemon=True, name="mllab-monitor")
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        import psutil

        psutil.cpu_percent(percpu=True)  # primes the counters
        while not self._stop.wait(self.interval):
            with contextlib.suppress(Exception):
                self.add(self.sample())

    def add(self, point: dict[str, Any]) -> None:
        with self._lock:
            self.seconds.append(point)
            self._pending.append(point)
            if point["t"] // 60 != self._pending[0]["t"] // 60:  # a minute is complete
                self.minutes.append(downsample(self._pending[:-1]))
                self._pending = self._pending[-1:]

    def latest(self) -> dict[str, Any] | None:
        with self._lock:
            return self.seconds[-1] if self.seconds else None

    def history(self, resolution: str = "1s", since: float = 0.0) -> list[dict[str, Any]]:
        with self._lock:
            points = self.seconds if resolution == "1s" else self.minutes
            return [p for p in points if p["t"] > since]


NUMERIC = (
    "cpu_percent",
    "memory_used_bytes",
    "swap_used_bytes",
    "disk_used_bytes",
    "disk_read_bps",
    "disk_write_bps",
    "net_recv_bps",
    "net_sent_bps",
)


def downsample(points: list[dict[str, Any]]) -> dict[str, Any]:
    """One point for a minute: means of the rates and levels, the last of the rest."""
    last = dict(points[-1])
    for key in NUMERIC:
        last[key] = round(sum(p[key] for p in points) / len(points), 1)
    last["cpu_per_core"] = [
        round(sum(p["cpu_per_core"][i] for p in points) / len(points), 1)
        for i in range(len(last["cpu_per_core"]))
    ]
    last["t"] = points[0]["t"] // 60 * 60
    last["samples"] = len(points)
    return last


def prometheus(point: dict[str, Any] | None, limits: dict[str, Any]) -> str:
    """The latest sample in Prometheus' text format."""
    if point is None:
        return ""
    lines: list[str] = []

    def metric(name: str, kind: str, help_: str, values: list[tuple[str, float]]) -> None:
        lines.append(f"# HELP mllab_{name} {help_}")
        lines.append(f"# TYPE mllab_{name} {kind}")
        lines.extend(f"mllab_{name}{labels} {value}" for labels, value in values)

    metric(
        "cpu_percent",
        "gauge",
        "CPU use of the machine, percent of all cores.",
        [("", point["cpu_percent"])],
    )
    metric(
        "cpu_core_percent",
        "gauge",
        "CPU use per core, percent.",
        [(f'{{core="{i}"}}', v) for i, v in enumerate(point["cpu_per_core"])],
    )
    metric("memory_used_bytes", "gauge", "Memory in use.", [("", point["memory_used_bytes"])])
    metric("memory_total_bytes", "gauge", "Memory installed.", [("", point["memory_total_bytes"])])
    metric(
        "disk_used_bytes",
        "gauge",
        "Disk space used where the lab lives.",
        [("", point["disk_used_bytes"])],
    )
    metric("disk_read_bytes_per_second", "gauge", "Disk reads.", [("", point["disk_read_bps"])])
    metric("disk_write_bytes_per_second", "gauge", "Disk writes.", [("", point["disk_write_bps"])])
    metric(
        "network_receive_bytes_per_second", "gauge", "Network in.", [("", point["net_recv_bps"])]
    )
    metric(
        "network_transmit_bytes_per_second", "gauge", "Network out.", [("", point["net_sent_bps"])]
    )
    if limits.get("cpus"):
        metric(
            "cgroup_cpu_limit_cores", "gauge", "The container's CPU limit.", [("", limits["cpus"])]
        )
    if limits.get("memory_bytes"):
        metric(
            "cgroup_memory_limit_bytes",
            "gauge",
            "The container's memory limit.",
            [("", limits["memory_bytes"])],
        )
    for key, name, help_ in (
        ("utilization_percent", "gpu_utilization_percent", "GPU use, percent."),
        ("memory_used_bytes", "gpu_memory_used_bytes", "GPU memory in use."),
        ("temperature_c", "gpu_temperature_celsius", "GPU temperature."),
        ("power_w", "gpu_power_watts", "GPU power draw."),
    ):
        values = [(f'{{gpu="{g["index"]}"}}', g[key]) for g in point["gpus"] if key in g]
        if values:
            metric(name, "gauge", help_, values)
    return "\n".join(lines) + "\n"
