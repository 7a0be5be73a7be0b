"""What the models API sends, made from MLflow's entities: versions, registered models, a
model's signature and input example, a run's lineage, a bundle's card. Pure functions: no
MLflow calls (the service fetches), no pydantic (schemas.py describes the shapes)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .names import split_registered_name

if TYPE_CHECKING:
    from mlflow.entities import Run
    from mlflow.entities.model_registry import ModelVersion, RegisteredModel

EXAMPLE_ROWS = 20
EXAMPLE_BYTES = 64 * 1024


def _seconds(ms: int | None) -> float:
    return (ms or 0) / 1000.0


def _column(spec: dict[str, Any]) -> dict[str, Any]:
    kind = str(spec.get("type", ""))
    if kind == "tensor" and isinstance(spec.get("tensor-spec"), dict):
        tensor = spec["tensor-spec"]
        shape = tensor.get("shape")
        shown = list(shape) if isinstance(shape, (list, tuple)) else shape
        kind = f"tensor({tensor.get('dtype')}, {shown})"  # tensor(float32, [-1, 3])
    return {"name": spec.get("name"), "type": kind}


def signature_of(model: Any) -> dict[str, Any]:
    signature = getattr(model, "signature", None) if model is not None else None
    if signature is None:
        return {"inputs": None, "outputs": None}
    out: dict[str, Any] = {}
    for side in ("inputs", "outputs"):
        schema = getattr(signature, side, None)
        out[side] = [_column(c) for c in schema.to_dict()] if schema is not None else None
    return out


def input_example_of(raw: Any) -> dict[str, Any] | None:
    """MLflow's input_example.json (pandas "split", {"inputs": ...} or a list) as
    ``{"columns", "data", "truncated"}``: at most EXAMPLE_ROWS rows and EXAMPLE_BYTES."""
    if isinstance(raw, dict) and "inputs" in raw and "data" not in raw:
        raw = raw["inputs"]
    columns: list[str] | None = None
    if isinstance(raw, dict) and isinstance(raw.get("data"), list):
        columns = [str(c) for c in raw.get("columns") or []] or None
        rows = raw["data"]
    elif isinstance(raw, dict):  # {"col": [values]} (a dict of columns)
        columns = [str(c) for c in raw]
        values = [v if isinstance(v, list) else [v] for v in raw.values()]
        rows = [list(r) for r in zip(*values, strict=False)]
    elif isinstance(raw, list):
        rows = raw
    else:
        return None
    rows = [r if isinstance(r, list) else [r] for r in rows]
    if columns is None:
        width = max((len(r) for r in rows), default=0)
        columns = [str(i) for i in range(width)]
    truncated = len(rows) > EXAMPLE_ROWS
    rows = rows[:EXAMPLE_ROWS]
    while rows and len(json.dumps(rows, default=str)) > EXAMPLE_BYTES:
        rows, truncated = rows[: len(rows) // 2], True
    if not rows:
        return None
    return {"columns": columns, "data": rows, "truncated": truncated}


def dataset_inputs(run: Run) -> list[dict[str, Any]]:
    """The dataset versions a run opened, as jupyter_mllab/lineage.py records them."""
    from ..datasets.keys import parse_key

    found: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in getattr(run.inputs, "dataset_inputs", None) or []:
        try:
            source = json.loads(item.dataset.source)
        except (TypeError, ValueError):
            continue
        if not isinstance(source, dict) or not {"key", "sha256"} <= source.keys():
            continue
        key, sha = str(source["key"]), str(source["sha256"])
        if key in seen:
            continue
        seen.add(key)
        entry: dict[str, Any] = {"key": key, "sha256": sha}
        try:
            parsed = parse_key(key, "")
            entry.update(project=parsed.project, name=parsed.name, version=parsed.version)
        except Exception:
            entry.update(project=None, name=None, version=None)
        found.append(entry)
    return found


def run_ref(run: Run) -> dict[str, Any]:
    return {
        "run_id": run.info.run_id,
        "experiment_id": str(run.info.experiment_id),
        "run_name": run.info.run_name,
        "status": run.info.status,
        "job_id": run.data.tags.get("mllab.job_id"),
    }


# -- views -------------------------------------------------------------------------------
def version_view(mv: ModelVersion, aliases: dict[str, int] | None) -> dict[str, Any]:
    project, name = split_registered_name(mv.name) or ("", mv.name)
    number = int(mv.version)
    tags = dict(mv.tags or {})
    if aliases is None:
        mine = list(getattr(mv, "aliases", None) or [])
    else:
        mine = sorted(a for a, v in aliases.items() if v == number)
    return {
        "name": name,
        "project": project,
        "version": number,
        "key": f"{project}/{name}@{number}",
        "aliases": mine,
        "tags": tags,
        "description": mv.description or "",
        "run_id": mv.run_id or None,
        "source": mv.source or "",
        "status": str(mv.status or "READY"),
        "flavor": tags.get("mllab.flavor"),
        "format": tags.get("mllab.format"),
        "created": _seconds(mv.creation_timestamp),
        "created_by": tags.get("mllab.created_by") or mv.user_id or "",
    }


def model_view(rm: RegisteredModel, versions: list[ModelVersion]) -> dict[str, Any]:
    project, name = split_registered_name(rm.name) or ("", rm.name)
    numbers = [int(v.version) for v in versions]
    return {
        "name": name,
        "project": project,
        "key": f"{project}/{name}",
        "registered_name": rm.name,
        "description": rm.description or "",
        "tags": dict(rm.tags or {}),
        "latest_version": max(numbers) if numbers else None,
        "aliases": {a: int(v) for a, v in (rm.aliases or {}).items()},
        "versions_count": len(numbers),
        "created": _seconds(rm.creation_timestamp),
        "updated": _seconds(rm.last_updated_timestamp),
    }


def lineage_of(run: Run | None) -> dict[str, Any]:
    """CONTRACT C5's Lineage of a version made in ``run`` (all empty without one)."""
    if run is None:
        return {
            "run": None,
            "notebook": None,
            "git_commit": None,
            "params": {},
            "metrics": {},
            "datasets": [],
            "environment": {},
        }
    tags = run.data.tags
    notebook = tags.get("mllab.notebook")
    return {
        "run": run_ref(run),
        "notebook": (
            {"path": notebook, "sha256": tags.get("mllab.notebook_sha256")} if notebook else None
        ),
        "git_commit": tags.get("mlflow.source.git.commit"),
        "params": dict(run.data.params),
        "metrics": dict(run.data.metrics),
        "datasets": dataset_inputs(run),
        "environment": {k: v for k, v in tags.items() if k.startswith("mllab.env.")},
    }


def bundle_card(detail: dict[str, Any], project: str, name: str) -> dict[str, Any]:
    """CONTRACT C4's card of a version, from its detail."""
    lineage = detail["lineage"]
    notebook = lineage["notebook"] or {}
    return {
        "name": name,
        "key": detail["key"],
        "project": project,
        "version": detail["version"],
        "run_id": detail["run_id"],
        "created": datetime.fromtimestamp(detail["created"], timezone.utc).isoformat(),
        "created_by": detail["created_by"],
        "description": detail["description"],
        "metrics": lineage["metrics"],
        "params": lineage["params"],
        "datasets": [{"key": d["key"], "sha256": d["sha256"]} for d in lineage["datasets"]],
        "notebook": notebook.get("path"),
        "notebook_sha256": notebook.get("sha256"),
        "git_commit": lineage["git_commit"],
        "flavor": detail["flavor"],
        "lineage": lineage,
    }
