"""Submitting jobs: validation and insertion of one run or a sweep, over the job store.

Plain Python, no server: the kernel client (``mllab.run_notebook``) submits through it too.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from ..errors import BadRequest, NotFound
from .params import inspect_parameters, plan_runs
from .store import QUEUED, Job, JobStore, new_id
from .tags import check_tags

JOB_ID = re.compile(r"[0-9a-f]{12}")


def read_notebook(path: Path) -> Any:
    import nbformat

    if path.suffix != ".ipynb":
        raise BadRequest(f"'{path.name}' is not a notebook (.ipynb).", reason="not_a_notebook")
    if not path.is_file():
        raise NotFound(f"No notebook at '{path}'.", reason="no_such_notebook")
    try:
        return nbformat.read(path, as_version=4)
    except Exception as exc:
        raise BadRequest(
            f"'{path.name}' is not a valid notebook: {exc}", reason="bad_notebook"
        ) from None


def notebook_kernel(nb: Any, asked: str | None) -> str:
    if asked:
        return asked
    return str((nb.metadata.get("kernelspec") or {}).get("name") or "python3")


def _text(value: Any, name: str, limit: int = 500) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise BadRequest(
            f"'{name}' must be a string of at most {limit} characters.", reason="bad_field"
        )
    return value


class JobSubmitter:
    """Validation and insertion of jobs. Needs only the store (and papermill)."""

    def __init__(self, store: JobStore, *, gpu_count: int = 0, max_sweep_runs: int = 1000):
        self.store = store
        self.gpu_count = gpu_count
        self.max_sweep_runs = max_sweep_runs

    def submit(
        self,
        notebook: Path,
        body: dict[str, Any],
        *,
        project: str,
        warnings: list[str] | None = None,
    ) -> Job:
        """The job (a run, or a sweep with its runs) inserted; ``warnings`` (when given)
        gets what was accepted unchecked (parameters papermill injects without reading)."""
        nb = read_notebook(notebook)
        kernel = notebook_kernel(nb, body.get("kernel") and _text(body["kernel"], "kernel", 100))
        requested = body.get("parameters") or {}
        search = body.get("search")
        if search is not None and not isinstance(search, dict):
            raise BadRequest("search must be an object.", reason="bad_search")
        plan = plan_runs(inspect_parameters(nb, kernel), requested, search, self.max_sweep_runs)
        if warnings is not None:
            warnings.extend(plan.warnings)
        timeout = body.get("timeout")
        if timeout is not None and (
            not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0
        ):
            raise BadRequest("timeout must be a positive number of seconds.", reason="bad_timeout")
        tags = check_tags(body.get("tags") or {})
        datasets = self._datasets(body.get("datasets") or [], project)
        gpus = body.get("gpus", 0)
        if not isinstance(gpus, int) or isinstance(gpus, bool) or gpus < 0:
            raise BadRequest("gpus must be a whole number (0 or more).", reason="bad_gpus")
        if gpus > self.gpu_count:
            have = f"has {self.gpu_count}" if self.gpu_count else "has no GPU"
            raise BadRequest(
                f"The run asks for {gpus} GPU{'s' if gpus > 1 else ''}; this machine {have}.",
                reason="no_gpu",
            )
        key = body.get("idempotency_key")
        if key is not None:
            key = _text(key, "idempotency_key", 200)
        retry_of = body.get("retry_of")
        if retry_of is not None:
            if not isinstance(retry_of, str) or not JOB_ID.fullmatch(retry_of):
                raise BadRequest(
                    f"retry_of must be the id of an earlier job (12 hex digits); got {retry_of!r}.",
                    reason="bad_retry_of",
                )
            self.store.get(retry_of)  # 404 for an unknown job
        now = time.time()
        common: dict[str, Any] = {
            "project": project,
            "notebook": str(notebook),
            "kernel": kernel,
            "tags": tags,
            "datasets": datasets,
            "gpus": gpus,
            "timeout": float(timeout) if timeout else None,
            "created": now,
            "retry_of": retry_of,
        }
        spec = {"parameters": requested, "search": search or {"kind": "grid"}}
        if plan.search == "single":
            job = Job(
                id=new_id(),
                kind="run",
                parent_id=None,
                status=QUEUED,
                parameters=plan.combinations[0],
                spec=spec,
                idempotency_key=key,
                **common,
            )
            return self.store.insert([job])[0]
        parent = Job(
            id=new_id(),
            kind="sweep",
            parent_id=None,
            status=QUEUED,
            parameters={},
            spec=spec,
            idempotency_key=key,
            **common,
        )
        children = [
            Job(
                id=new_id(),
                kind="run",
                parent_id=parent.id,
                status=QUEUED,
                parameters=combo,
                spec={},
                **{**common, "created": now + i * 1e-6},
            )
            for i, combo in enumerate(plan.combinations)
        ]
        return self.store.insert([parent, *children])[0]

    def _datasets(self, keys: Any, project: str) -> list[str]:
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise BadRequest("datasets must be a list of dataset keys.", reason="bad_datasets")
        if not keys:
            return []
        from ..datasets.keys import parse_key
        from ..datasets.store import DatasetStore
        from ..projects.store import ProjectStore

        store = DatasetStore(ProjectStore(self.store.db.path.parent))
        resolved = []
        for key in keys:
            version = store.resolve(parse_key(key, project))
            resolved.append(version.key)  # pinned: "project/name@3"
        return resolved
