"""Hardware monitoring: the sampler against psutil, history, cgroups, NVML (a FAKE module:
this machine has no GPU), and the REST routes of a real server."""

from __future__ import annotations

import asyncio
import os
import sys
import time
import types
from pathlib import Path
from typing import Any

import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

from jupyter_mllab.monitor.gpu import gpu_inventory
from jupyter_mllab.monitor.prometheus import exposition
from jupyter_mllab.monitor.sampler import Gpus, Sampler, cgroup_limits, downsample

REAL_GPUS = gpu_inventory()


def test_sample_is_plausible_against_psutil(tmp_path: Path) -> None:
    sampler = Sampler(tmp_path)
    sampler.sample()
    point = sampler.sample()
    memory = psutil.virtual_memory()
    assert point["memory_total_bytes"] == memory.total
    assert abs(point["memory_available_bytes"] - memory.available) < memory.total * 0.1
    assert len(point["cpu_per_core"]) == psutil.cpu_count()
    assert 0 <= point["cpu_percent"] <= 100
    assert point["disk_total_bytes"] == psutil.disk_usage(str(tmp_path)).total
    assert point["net_recv_bps"] >= 0 and point["disk_write_bps"] >= 0
    assert len(point["load"]) == 3
    if not REAL_GPUS["available"]:
        assert point["gpus"] == []  # no GPU: a normal state, not an error


@pytest.mark.skipif(not REAL_GPUS["available"], reason="no NVIDIA GPU with NVML here")
def test_real_gpus_through_nvml(tmp_path: Path) -> None:
    """The real NVML, on a machine with an NVIDIA GPU (CI has none: there it is skipped)."""
    sampler = Sampler(tmp_path)
    gpus = sampler.sample()["gpus"]
    assert [g["name"] for g in gpus] == REAL_GPUS["names"]
    for gpu in gpus:
        assert 0 <= gpu["memory_used_bytes"] <= gpu["memory_total_bytes"]
        assert gpu["memory_total_bytes"] > 2**30
        assert 0 <= gpu["utilization_percent"] <= 100
        assert 0 < gpu.get("temperature_c", 40) < 120
        assert gpu.get("power_w", 0) >= 0


def test_history_downsamples_to_minutes(tmp_path: Path) -> None:
    sampler = Sampler(tmp_path)
    base = 1_800_000_000.0  # a whole minute
    template = sampler.sample()
    for i in range(150):  # two and a half minutes of 1 s points
        point = dict(
            template,
            t=base + i,
            cpu_percent=float(i % 60 < 30) * 50.0,
            cpu_per_core=[10.0] * len(template["cpu_per_core"]),
        )
        sampler.add(point)
    assert len(sampler.history("1s")) == 150
    minutes = sampler.history("1m")
    assert [m["t"] for m in minutes] == [base, base + 60]
    assert [m["samples"] for m in minutes] == [60, 60]
    assert minutes[0]["cpu_percent"] == 25.0  # the mean of 30 x 50 and 30 x 0
    assert sampler.history("1s", since=base + 140)[0]["t"] == base + 141
    one = downsample(
        [dict(template, t=base, cpu_percent=10.0), dict(template, t=base + 1, cpu_percent=30.0)]
    )
    assert one["cpu_percent"] == 20.0


def test_cgroup_limits(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    (tmp_path / "memory.max").write_text("1073741824\n")
    assert cgroup_limits(tmp_path) == {"cpus": 1.5, "memory_bytes": 1073741824.0}
    (tmp_path / "cpu.max").write_text("max 100000\n")
    (tmp_path / "memory.max").write_text("max\n")
    assert cgroup_limits(tmp_path) == {"cpus": None, "memory_bytes": None}
    assert cgroup_limits(tmp_path / "missing") == {"cpus": None, "memory_bytes": None}


class _FakeNVML(types.ModuleType):
    """A FAKE pynvml with two GPUs: the NVML boundary cannot be reached on this machine."""

    def __init__(self) -> None:
        super().__init__("pynvml")
        self.inits = 0

    def nvmlInit(self) -> None:
        self.inits += 1

    def nvmlDeviceGetCount(self) -> int:
        return 2

    def nvmlDeviceGetHandleByIndex(self, i: int) -> int:
        return i

    def nvmlDeviceGetName(self, h: int) -> bytes:
        return f"FAKE GPU {h}".encode()

    def nvmlDeviceGetUtilizationRates(self, h: int) -> Any:
        return types.SimpleNamespace(gpu=40 + h)

    def nvmlDeviceGetMemoryInfo(self, h: int) -> Any:
        return types.SimpleNamespace(used=(h + 1) * 2**30, total=16 * 2**30)

    def nvmlDeviceGetTemperature(self, h: int, sensor: int) -> int:
        return 60

    def nvmlDeviceGetPowerUsage(self, h: int) -> int:
        return 150_000  # milliwatts

    def nvmlDeviceGetComputeRunningProcesses(self, h: int) -> list[Any]:
        return [types.SimpleNamespace(pid=os.getpid(), usedGpuMemory=2**28)] if h == 0 else []


def test_gpus_through_a_fake_nvml(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = _FakeNVML()
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    gpus = Gpus()
    first = gpus.read()
    gpus.read()
    assert fake.inits == 1  # initialized once, lazily
    assert [g["name"] for g in first] == ["FAKE GPU 0", "FAKE GPU 1"]
    assert first[1]["utilization_percent"] == 41.0 and first[0]["power_w"] == 150.0
    assert first[0]["memory_used_bytes"] == 2**30 and first[0]["memory_total_bytes"] == 16 * 2**30
    assert first[0]["processes"] == [{"pid": os.getpid(), "memory_bytes": 2**28}]
    sampler = Sampler(tmp_path)
    text = exposition(sampler.sample(), {"cpus": 2.0, "memory_bytes": None}).decode()
    assert 'mllab_gpu_utilization_percent{gpu="1"} 41.0' in text
    assert "mllab_cgroup_cpu_limit_cores 2.0" in text
    families = parsed(text)
    assert families["mllab_gpu_power_watts"] == {(("gpu", "0"),): 150.0, (("gpu", "1"),): 150.0}
    assert families["mllab_gpu_memory_used_bytes"][(("gpu", "0"),)] == 2**30
    assert "mllab_cgroup_memory_limit_bytes" not in families  # no limit, no metric


def test_no_nvml_is_normal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import fails
    gpus = Gpus()
    assert gpus.read() == [] and gpus.error


async def test_monitor_routes(api: Any) -> None:
    code, now = await api("GET", "monitor")
    assert code == 200, now
    assert now["latest"]["memory_total_bytes"] == psutil.virtual_memory().total
    assert now["jobs"] == [] and "cpus" in now["limits"]
    # the sampler ticks once a second; on a loaded CI machine a tick can come late, so
    # wait (bounded) for two points rather than for a fixed 2.5 s
    deadline = time.monotonic() + 30
    while True:
        _, history = await api("GET", "monitor", "history")
        if len(history["points"]) >= 2 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    assert len(history["points"]) >= 2
    times = [p["t"] for p in history["points"]]
    assert times == sorted(times)
    _, later = await api("GET", "monitor", "history", params={"since": str(times[-2])})
    assert [p["t"] for p in later["points"]] == times[-1:] or len(later["points"]) >= 1
    code, bad = await api("GET", "monitor", "history", params={"resolution": "5s"})
    assert code == 400 and bad["reason"] == "bad_argument"


def parsed(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Prometheus' own parser over the text: {family: {labels: value}}, gauges only."""
    families: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        assert family.type == "gauge", family
        assert family.documentation, family  # every metric has its HELP
        families[family.name] = {tuple(sorted(s.labels.items())): s.value for s in family.samples}
    return families


async def test_prometheus_endpoint(jp_fetch: Any) -> None:
    response = await jp_fetch("mllab", "api", "monitor", "metrics")
    text = response.body.decode()
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "# TYPE mllab_cpu_percent gauge" in text
    families = parsed(text)
    assert families["mllab_memory_total_bytes"] == {(): psutil.virtual_memory().total}
    assert 0 <= families["mllab_cpu_percent"][()] <= 100
    cores = families["mllab_cpu_core_percent"]
    assert sorted(cores) == [(("core", str(i)),) for i in range(len(cores))]
    assert len(cores) == psutil.cpu_count()
    for name in (
        "memory_used_bytes",
        "disk_used_bytes",
        "disk_read_bytes_per_second",
        "disk_write_bytes_per_second",
        "network_receive_bytes_per_second",
        "network_transmit_bytes_per_second",
    ):
        assert list(families[f"mllab_{name}"]) == [()], name
    from tornado.httpclient import HTTPClientError

    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("mllab", "api", "monitor", "metrics", headers={"Authorization": ""})
    assert info.value.code == 403
