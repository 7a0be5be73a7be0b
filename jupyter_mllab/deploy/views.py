"""A service as the API shows it (CONTRACT C3's Service JSON): one place, used by the
REST handlers and the kernel client alike. Light (stdlib only)."""

from __future__ import annotations

import time
from typing import Any

from .store import DEFAULT_OPTIONS, RUNNING, ServiceRow

PROXY = "mllab/api/services"
EMPTY_STATS: dict[str, Any] = {
    "started_at": None,
    "ready": False,
    "requests": 0,
    "errors": {},
    "rows": 0,
    "latency_ms": {"p50": None, "p95": None, "p99": None},
    "series": [],
    "recent": [],
    "batching": None,
}


def options_view(options: dict[str, Any]) -> dict[str, Any]:
    batching = {**DEFAULT_OPTIONS["batching"], **(options.get("batching") or {})}
    return {
        "workers": int(options.get("workers") or DEFAULT_OPTIONS["workers"]),
        "batching": {
            "enabled": bool(batching["enabled"]),
            "max_rows": int(batching["max_rows"]),
            "window_ms": float(batching["window_ms"]),
        },
        "max_body_bytes": int(options.get("max_body_bytes") or DEFAULT_OPTIONS["max_body_bytes"]),
    }


def service_view(
    row: ServiceRow, *, ready: bool, stats: dict[str, Any] | None = None
) -> dict[str, Any]:
    running = row.status == RUNNING and row.pid is not None
    model = row.model
    latency = (stats or {}).get("latency_ms") or {}
    return {
        "name": row.name,
        "project": row.project,
        "status": row.status,
        "ready": bool(ready and running),
        "url": f"http://127.0.0.1:{row.port}",
        "port": int(row.port or 0),
        "pid": row.pid,
        "token": row.token,
        "proxy_url": f"/{PROXY}/{row.name}/proxy/",
        "source": {
            "model": row.source_model,
            "alias": row.source_alias,
            "bundle": row.source_bundle,
        },
        "model": (
            {
                "name": str(model.get("name")),
                "version": model.get("version"),
                "key": str(model.get("key")),
                "run_id": model.get("run_id"),
            }
            if model
            else None
        ),
        "options": options_view(row.options),
        "created_at": row.created_at,
        "started_at": row.started_at if running else None,
        "uptime_s": round(time.time() - row.started_at, 3) if running and row.started_at else None,
        "restarts": row.restarts,
        "requests": int((stats or {}).get("requests") or 0),
        "p50_ms": latency.get("p50"),
        "error": row.error,
        "log_tail": row.log_tail,
        "input_example": row.input_example,
    }
