"""Submitting jobs: validation and insertion of one run or a sweep, over the job store.

Plain Python, no server: the kernel client (``mllab.run_notebook``) submits through it too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BadRequest, NotFound
from .params import Plan, inspect_parameters, plan_runs
from .store import QUEUED, Job, JobStore, new_id
from .tags import check_tags

if TYPE_CHECKING:
    from .schemas import JobSubmit


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


@dataclass(frozen=True)
class Checked:
    """A submission that passed every check: its runs, and what they are queued with."""

    spec: JobSubmit
    kernel: str
    plan: Plan
    tags: dict[str, str]
    datasets: list[str]  # pinned keys


class JobSubmitter:
    """Validation and insertion of jobs. Needs only the store (and papermill)."""

    def __init__(self, store: JobStore, *, gpu_count: int = 0, max_sweep_runs: int = 1000):
        self.store = store
        self.gpu_count = gpu_count
        self.max_sweep_runs = max_sweep_runs

    def check(
        self,
        notebook: Path,
        body: dict[str, Any],
        *,
        project: str,
        warnings: list[str] | None = None,
    ) -> Checked:
        """Everything a submit checks (the notebook, its parameters expanded into runs,
        tags, datasets, GPUs), without queueing anything: ``submit`` and the dry run
        (``POST jobs/plan``) share it, so the form's count is the count the submit makes."""
        # The one definition of a submit's fields (pydantic: imported at submit time only,
        # so that a kernel's ``import jupyter_mllab`` stays light).
        from ..schemas import parse
        from .schemas import JobSubmit

        spec_in = parse(JobSubmit, {**body, "notebook": str(notebook), "project": project})
        nb = read_notebook(notebook)
        kernel = notebook_kernel(nb, spec_in.kernel)
        requested = spec_in.parameters or {}
        search = spec_in.search
        plan = plan_runs(inspect_parameters(nb, kernel), requested, search, self.max_sweep_runs)
        if warnings is not None:
            warnings.extend(plan.warnings)
        tags = check_tags(spec_in.tags or {})
        datasets = self._datasets(spec_in.datasets or [], project)
        gpus = spec_in.gpus
        if gpus > self.gpu_count:
            have = f"has {self.gpu_count}" if self.gpu_count else "has no GPU"
            raise BadRequest(
                f"The run asks for {gpus} GPU{'s' if gpus > 1 else ''}; this machine {have}.",
                reason="no_gpu",
            )
        if spec_in.retry_of is not None:
            self.store.get(spec_in.retry_of)  # 404 for an unknown job
        return Checked(spec_in, kernel, plan, tags, datasets)

    def submit(
        self,
        notebook: Path,
        body: dict[str, Any],
        *,
        project: str,
        warnings: list[str] | None = None,
    ) -> Job:
        """``body``: a JobSubmit's fields (``notebook`` and ``project`` come resolved);
        ``warnings`` (when given) gets what was accepted unchecked (parameters papermill
        injects without reading them)."""
        checked = self.check(notebook, body, project=project, warnings=warnings)
        spec_in, plan = checked.spec, checked.plan
        requested = spec_in.parameters or {}
        search = spec_in.search
        timeout = spec_in.timeout
        key = spec_in.idempotency_key
        retry_of = spec_in.retry_of
        now = time.time()
        common: dict[str, Any] = {
            "project": project,
            "notebook": str(notebook),
            "kernel": checked.kernel,
            "tags": checked.tags,
            "datasets": checked.datasets,
            "gpus": spec_in.gpus,
            "timeout": float(timeout) if timeout else None,
            "created": now,
            "retry_of": retry_of,
        }
        # how each run uses files (a sweep's runs each keep it: a retry of one does too)
        files: dict[str, Any] = {
            "in_place": spec_in.in_place,
            "outputs": spec_in.outputs.model_dump(exclude_none=True) if spec_in.outputs else None,
        }
        spec = {"parameters": requested, "search": search or {"kind": "grid"}, **files}
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
                spec=dict(files),
                **{**common, "created": now + i * 1e-6},
            )
            for i, combo in enumerate(plan.combinations)
        ]
        return self.store.insert([parent, *children])[0]

    def _datasets(self, keys: list[str], project: str) -> list[str]:
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
