"""Model services from a kernel: deploy, list, predict, undeploy (CONTRACT C3).

As runs are submitted through the jobs table, a kernel deploys by writing a row to the
lab's services table; the server's supervisor, which reconciles it every half second,
starts the process (and stops and removes it on ``undeploy``). Predictions go straight to
the service on 127.0.0.1 with its token (the kernel shares the lab's home, so it reads the
token as the lab does). No jupyter_server, no tornado, no mlflow.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from ..deploy.store import (
    DEFAULT_OPTIONS,
    FAILED,
    RUNNING,
    ServiceRow,
    ServiceStore,
    check_name,
    name_from,
    new_secret,
    new_token,
)
from ..deploy.views import service_view
from ..errors import BadRequest, MLLabError, Unavailable
from ..models.names import parse_model_key
from . import current_project, home

__all__ = ["deploy", "predict", "services", "undeploy"]
SCORING_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")


def _store() -> ServiceStore:
    return ServiceStore(home())


def _healthy(row: ServiceRow) -> bool:
    from ..deploy.process import healthy

    return bool(row.status == RUNNING and row.port and healthy(row.port, timeout=1.0))


def _view(row: ServiceRow) -> dict[str, Any]:
    from ..deploy.process import stats

    ready = _healthy(row)
    return service_view(row, ready=ready, stats=stats(row.port or 0, row.token) if ready else None)


def deploy(
    model: str,
    name: str | None = None,
    port: int | None = None,
    project: str | None = None,
    *,
    workers: int = 1,
    batching: dict[str, Any] | None = None,
    token: str | None = None,
    wait: bool = True,
    timeout: float = 300.0,
) -> dict[str, Any]:
    """Serve ``model`` (``wine@champion``, ``wine@3``, ``lab/wine@3``) as a service of the
    project; with ``wait`` (default), return once it answers (the Service as the REST API
    shows it). A service deployed from an alias follows the alias."""
    from ..deploy.process import free_port

    key = parse_model_key(model, project or current_project())
    if key.version is None and key.alias is None:
        raise BadRequest(
            f"'{model}': name a version or an alias (wine@3, wine@champion).", reason="invalid_key"
        )
    if port is not None and not 1024 <= int(port) <= 65535:
        raise BadRequest("port must be from 1024 to 65535.", reason="bad_port")
    if not 1 <= int(workers) <= 64:
        raise BadRequest("workers must be from 1 to 64.", reason="bad_workers")
    row = ServiceRow(
        name=check_name(name) if name is not None else name_from(key.name),
        project=key.project,
        secret=new_secret(),
        token=token or new_token(),
        source_model=str(key),
        source_alias=key.alias,
        requested_port=port,
        port=port or free_port(),
        options={
            "workers": int(workers),
            "batching": {**DEFAULT_OPTIONS["batching"], **(batching or {})},
            "max_body_bytes": DEFAULT_OPTIONS["max_body_bytes"],
        },
    )
    store = _store()
    row = store.create(row, unique_suffix=name is None)
    if not wait:
        return _view(row)
    return _wait_running(store, row.name, timeout)


def _wait_running(store: ServiceStore, name: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        row = store.get(name)
        if row.status == FAILED:
            tail = "\n".join(row.log_tail or [])
            raise MLLabError(
                f"Service '{name}' failed: {row.error}" + (f"\n{tail}" if tail else ""),
                reason="service_failed",
            )
        if row.status == RUNNING and row.pid and _healthy(row):
            return _view(row)
        if time.monotonic() > deadline:
            raise Unavailable(
                f"Service '{name}' is still {row.status} after {timeout:.0f} s (is the lab's "
                "server running? It starts the services).",
                reason="service_timeout",
            )
        time.sleep(0.2)


def services(project: str | None = None) -> list[dict[str, Any]]:
    """The project's services (all projects' with ``project="*"``)."""
    chosen = None if project == "*" else (project or current_project())
    return [_view(r) for r in _store().rows(chosen) if r.desired != "removed"]


def _row(service: str | dict[str, Any]) -> ServiceRow:
    name = service["name"] if isinstance(service, dict) else str(service)
    return _store().get(name)


def _request(data: Any) -> tuple[bytes, str]:
    """A scoring request's body and content type from a DataFrame, records, a request
    dict, a JSON string, or the path of a .json / .csv file."""
    if hasattr(data, "to_dict") and hasattr(data, "columns"):  # a pandas DataFrame
        split = json.loads(data.to_json(orient="split", index=False, date_format="iso"))
        return json.dumps({"dataframe_split": split}).encode(), "application/json"
    if isinstance(data, Path) or (isinstance(data, str) and data.strip()[:1] not in "{["):
        path = Path(data).expanduser()
        if not path.is_file():
            raise BadRequest(f"No file '{data}' (give JSON, a DataFrame or a .csv/.json path).")
        if path.suffix.lower() == ".csv":
            return path.read_bytes(), "text/csv"
        data = path.read_text(encoding="utf-8")
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise BadRequest(f"Not JSON: {exc}", reason="bad_json") from None
    if isinstance(data, dict) and any(k in data for k in SCORING_KEYS):
        body = data
    elif isinstance(data, dict):
        body = {"dataframe_records": [data]}
    elif isinstance(data, list) and all(isinstance(r, dict) for r in data):
        body = {"dataframe_records": data}
    elif isinstance(data, list):
        body = {"instances": data}
    else:
        raise BadRequest("Give a DataFrame, records, a scoring request, or a file path.")
    return json.dumps(body).encode(), "application/json"


def predict(service: str | dict[str, Any], data: Any, *, timeout: float = 60.0) -> Any:
    """The service's predictions for ``data`` (MLflow's ``{"predictions": ...}``, unwrapped)."""
    row = _row(service)
    if row.status != RUNNING or not row.port:
        raise Unavailable(f"Service '{row.name}' is {row.status}.", reason="service_not_running")
    body, content_type = _request(data)
    request = urllib.request.Request(
        f"http://127.0.0.1:{row.port}/invocations",
        data=body,
        method="POST",
        headers={"Content-Type": content_type, "Authorization": f"Bearer {row.token}"},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy
    try:
        with opener.open(request, timeout=timeout) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("message") or str(exc)
        except (ValueError, AttributeError):
            message = str(exc)
        raise MLLabError(f"Service '{row.name}': {message}", status=exc.code) from None
    return answer.get("predictions", answer) if isinstance(answer, dict) else answer


def undeploy(service: str | dict[str, Any], *, timeout: float = 60.0) -> None:
    """Stop the service and remove it (the server's supervisor does it; this waits)."""
    row = _row(service)
    store = _store()
    store.update(row.name, desired="removed")
    deadline = time.monotonic() + timeout
    while store.find(row.name) is not None:
        if time.monotonic() > deadline:
            raise Unavailable(
                f"Service '{row.name}' is not removed yet (is the lab's server running?).",
                reason="service_timeout",
            )
        time.sleep(0.2)
