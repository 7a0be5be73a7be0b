"""Which GPUs this machine has, through NVML. No GPU, or no NVML, is a normal state."""

from __future__ import annotations

import contextlib
from typing import Any


def gpu_inventory() -> dict[str, Any]:
    """``{"available", "count", "names"}``; never raises."""
    try:
        import pynvml  # nvidia-ml-py; imported here so that a kernel's import stays light
    except ImportError:
        return {"available": False, "count": 0, "names": [], "error": "nvidia-ml-py missing"}
    try:
        pynvml.nvmlInit()
    except Exception as exc:  # NVMLError: no driver, no device
        return {"available": False, "count": 0, "names": [], "error": str(exc)}
    try:
        count = pynvml.nvmlDeviceGetCount()
        names = []
        for i in range(count):
            name = pynvml.nvmlDeviceGetName(pynvml.nvmlDeviceGetHandleByIndex(i))
            names.append(name.decode() if isinstance(name, bytes) else str(name))
        return {"available": count > 0, "count": count, "names": names}
    except Exception as exc:
        return {"available": False, "count": 0, "names": [], "error": str(exc)}
    finally:
        with contextlib.suppress(Exception):
            pynvml.nvmlShutdown()
