"""One look at the machine: CPU, memory, disk, network, GPUs, and the container's limits.

Shared by the server's monitor (``Sampler``, once a second) and the kernel's ``%mllab
monitor`` table: psutil and NVML are imported on first use, so importing this is light.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any


def cgroup_limits(root: Path = Path("/sys/fs/cgroup")) -> dict[str, float | None]:
    """CPU (in cores) and memory (bytes) limits of this container, when there are any."""
    cpus: float | None = None
    memory: float | None = None
    with contextlib.suppress(OSError, ValueError):
        quota, period = (root / "cpu.max").read_text().split()[:2]
        if quota != "max":
            cpus = int(quota) / int(period)
    with contextlib.suppress(OSError, ValueError):
        text = (root / "memory.max").read_text().strip()
        if text != "max":
            memory = float(int(text))
    if cpus is None:  # cgroup v1
        with contextlib.suppress(OSError, ValueError):
            quota_us = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
            period_us = int((root / "cpu" / "cpu.cfs_period_us").read_text())
            if quota_us > 0:
                cpus = quota_us / period_us
    if memory is None:
        with contextlib.suppress(OSError, ValueError):
            limit = int((root / "memory" / "memory.limit_in_bytes").read_text())
            if limit < 1 << 60:
                memory = float(limit)
    return {"cpus": cpus, "memory_bytes": memory}


class Gpus:
    """NVML, opened on first use; ``read()`` -> one dict per GPU (empty without GPUs)."""

    def __init__(self) -> None:
        self._nvml: Any = None
        self._handles: list[Any] | None = None
        self.error: str | None = None

    def _open(self) -> list[Any]:
        if self._handles is not None:
            return self._handles
        self._handles = []
        try:
            import pynvml

            pynvml.nvmlInit()
            self._nvml = pynvml
            self._handles = [
                pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())
            ]
        except Exception as exc:  # no library, no driver, no device: a normal state
            self.error = str(exc) or type(exc).__name__
        return self._handles

    def read(self) -> list[dict[str, Any]]:
        out = []
        for index, handle in enumerate(self._open()):
            nvml = self._nvml
            gpu: dict[str, Any] = {"index": index}
            with contextlib.suppress(Exception):
                name = nvml.nvmlDeviceGetName(handle)
                gpu["name"] = name.decode() if isinstance(name, bytes) else str(name)
            with contextlib.suppress(Exception):
                gpu["utilization_percent"] = float(nvml.nvmlDeviceGetUtilizationRates(handle).gpu)
            with contextlib.suppress(Exception):
                mem = nvml.nvmlDeviceGetMemoryInfo(handle)
                gpu["memory_used_bytes"] = int(mem.used)
                gpu["memory_total_bytes"] = int(mem.total)
            with contextlib.suppress(Exception):
                gpu["temperature_c"] = float(nvml.nvmlDeviceGetTemperature(handle, 0))
            with contextlib.suppress(Exception):
                gpu["power_w"] = nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0
            with contextlib.suppress(Exception):
                gpu["processes"] = [
                    {"pid": p.pid, "memory_bytes": int(p.usedGpuMemory or 0)}
                    for p in nvml.nvmlDeviceGetComputeRunningProcesses(handle)
                ]
            out.append(gpu)
        return out


class Probe:
    """``sample()``: the machine now; rates (disk, network) since the previous sample."""

    def __init__(self, disk_path: Path):
        self.disk_path = disk_path
        self.gpus = Gpus()
        self._last_io: tuple[float, Any, Any] | None = None

    def sample(self) -> dict[str, Any]:
        import psutil

        now = time.time()
        per_core = psutil.cpu_percent(percpu=True)
        memory = psutil.virtual_memory()
        swap = psutil.swap_memory()
        disk_io = psutil.disk_io_counters()
        net_io = psutil.net_io_counters()
        rates = {
            "disk_read_bps": 0.0,
            "disk_write_bps": 0.0,
            "net_recv_bps": 0.0,
            "net_sent_bps": 0.0,
        }
        if self._last_io is not None:
            then, last_disk, last_net = self._last_io
            dt = max(now - then, 1e-3)
            if disk_io and last_disk:
                rates["disk_read_bps"] = (disk_io.read_bytes - last_disk.read_bytes) / dt
                rates["disk_write_bps"] = (disk_io.write_bytes - last_disk.write_bytes) / dt
            if net_io and last_net:
                rates["net_recv_bps"] = (net_io.bytes_recv - last_net.bytes_recv) / dt
                rates["net_sent_bps"] = (net_io.bytes_sent - last_net.bytes_sent) / dt
        self._last_io = (now, disk_io, net_io)
        try:
            disk = psutil.disk_usage(str(self.disk_path))
            disk_used, disk_total = disk.used, disk.total
        except OSError:
            disk_used = disk_total = 0
        return {
            "t": round(now, 3),
            "cpu_percent": round(sum(per_core) / max(len(per_core), 1), 1),
            "cpu_per_core": [round(c, 1) for c in per_core],
            "load": [round(x, 2) for x in os.getloadavg()],
            "memory_used_bytes": memory.total - memory.available,
            "memory_available_bytes": memory.available,
            "memory_total_bytes": memory.total,
            "swap_used_bytes": swap.used,
            "swap_total_bytes": swap.total,
            "disk_used_bytes": disk_used,
            "disk_total_bytes": disk_total,
            **{k: round(max(v, 0.0), 1) for k, v in rates.items()},
            "gpus": self.gpus.read(),
        }
