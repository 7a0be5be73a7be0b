"""What a running job uses: CPU %, RSS and GPU memory of its kernel's process tree."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

INTERVAL = 1.0


def _gpu_memory_by_pid() -> dict[int, int]:
    """GPU memory per process through NVML; empty without a GPU (a normal state)."""
    try:
        import pynvml
    except ImportError:
        return {}
    try:
        pynvml.nvmlInit()
    except Exception:
        return {}
    used: dict[int, int] = {}
    try:
        for i in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(i)
            for getter in (
                pynvml.nvmlDeviceGetComputeRunningProcesses,
                pynvml.nvmlDeviceGetGraphicsRunningProcesses,
            ):
                with contextlib.suppress(Exception):
                    for proc in getter(handle):
                        used[proc.pid] = used.get(proc.pid, 0) + int(proc.usedGpuMemory or 0)
    except Exception:
        return used
    return used


class UsageSampler:
    """Samples a process tree once a second on a daemon thread; ``stop()`` -> summary."""

    def __init__(self, pid: int, report: Callable[[dict[str, Any]], None] | None = None):
        self.pid = pid
        self.report = report
        self.series: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="mllab-usage")
        self._procs: dict[int, Any] = {}
        self._gpu = True
        self._lock = threading.Lock()

    def start(self) -> None:
        self._thread.start()

    def sample(self) -> dict[str, Any] | None:
        with self._lock:
            return self._sample()

    def _sample(self) -> dict[str, Any] | None:
        import psutil

        try:
            root = psutil.Process(self.pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            return None
        cpu = 0.0
        rss = 0
        alive = {}
        for proc in tree:
            cached = self._procs.get(proc.pid, proc)
            try:
                cpu += cached.cpu_percent(None)
                rss += cached.memory_info().rss
            except psutil.Error:
                continue
            alive[proc.pid] = cached
        self._procs = alive
        gpu = 0
        if self._gpu:
            by_pid = _gpu_memory_by_pid()
            self._gpu = bool(by_pid) or len(self.series) < 3
            gpu = sum(by_pid.get(p, 0) for p in alive)
        return {
            "t": time.time(),
            "cpu_percent": round(cpu, 1),
            "rss_bytes": rss,
            "gpu_memory_bytes": gpu,
        }

    def _loop(self) -> None:
        self.sample()  # primes cpu_percent
        while not self._stop.wait(INTERVAL):
            point = self.sample()
            if point is None:
                continue
            self.series.append(point)
            if self.report:
                with contextlib.suppress(Exception):
                    self.report({k: v for k, v in point.items() if k != "t"})

    def mark(self) -> None:
        """Sample now (at a cell's end), so that short runs and short peaks count too."""
        point = self.sample()
        if point is not None:
            self.series.append(point)

    def stop(self) -> dict[str, Any]:
        self._stop.set()
        self._thread.join(timeout=2)
        if not self.series:
            return {
                "peak_rss_bytes": None,
                "mean_cpu_percent": None,
                "peak_gpu_memory_bytes": None,
                "series": [],
            }
        return {
            "peak_rss_bytes": max(p["rss_bytes"] for p in self.series),
            "mean_cpu_percent": round(
                sum(p["cpu_percent"] for p in self.series) / len(self.series), 1
            ),
            "peak_gpu_memory_bytes": max(p["gpu_memory_bytes"] for p in self.series),
            "series": self.series[-3600:],
        }
