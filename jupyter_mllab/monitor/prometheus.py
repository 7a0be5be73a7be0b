"""The latest sample in Prometheus' text format, rendered by ``prometheus_client``.

A registry of its own (not the process-wide one, which holds jupyter_server's metrics) with
one collector that yields a gauge family per figure of the sample.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

# What generate_latest writes (named here: only newer prometheus_client versions name it).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# (key in the sample, metric name without the mllab_ prefix, help)
MACHINE = (
    ("memory_used_bytes", "memory_used_bytes", "Memory in use."),
    ("memory_total_bytes", "memory_total_bytes", "Memory installed."),
    ("disk_used_bytes", "disk_used_bytes", "Disk space used where the lab lives."),
    ("disk_read_bps", "disk_read_bytes_per_second", "Disk reads."),
    ("disk_write_bps", "disk_write_bytes_per_second", "Disk writes."),
    ("net_recv_bps", "network_receive_bytes_per_second", "Network in."),
    ("net_sent_bps", "network_transmit_bytes_per_second", "Network out."),
)
LIMITS = (
    ("cpus", "cgroup_cpu_limit_cores", "The container's CPU limit."),
    ("memory_bytes", "cgroup_memory_limit_bytes", "The container's memory limit."),
)
GPUS = (
    ("utilization_percent", "gpu_utilization_percent", "GPU use, percent."),
    ("memory_used_bytes", "gpu_memory_used_bytes", "GPU memory in use."),
    ("temperature_c", "gpu_temperature_celsius", "GPU temperature."),
    ("power_w", "gpu_power_watts", "GPU power draw."),
)


class SampleCollector:
    """One sample (``Sampler.sample()``) and the container's limits as gauges."""

    def __init__(self, point: dict[str, Any], limits: dict[str, Any]):
        self.point, self.limits = point, limits

    def collect(self) -> Iterator[Metric]:
        point = self.point
        yield GaugeMetricFamily(
            "mllab_cpu_percent",
            "CPU use of the machine, percent of all cores.",
            value=point["cpu_percent"],
        )
        cores = GaugeMetricFamily(
            "mllab_cpu_core_percent", "CPU use per core, percent.", labels=["core"]
        )
        for i, value in enumerate(point["cpu_per_core"]):
            cores.add_metric([str(i)], value)
        yield cores
        for key, name, help_ in MACHINE:
            if point.get(key) is not None:
                yield GaugeMetricFamily(f"mllab_{name}", help_, value=point[key])
        for key, name, help_ in LIMITS:
            if self.limits.get(key):  # no limit: no metric
                yield GaugeMetricFamily(f"mllab_{name}", help_, value=self.limits[key])
        for key, name, help_ in GPUS:
            gpus = [g for g in point["gpus"] if g.get(key) is not None]
            if gpus:
                family = GaugeMetricFamily(f"mllab_{name}", help_, labels=["gpu"])
                for g in gpus:
                    family.add_metric([str(g["index"])], g[key])
                yield family


def exposition(point: dict[str, Any] | None, limits: dict[str, Any]) -> bytes:
    """The sample as Prometheus' text exposition format; nothing before the first sample."""
    registry = CollectorRegistry(auto_describe=False)
    if point is not None:
        registry.register(SampleCollector(point, limits))
    return generate_latest(registry)
