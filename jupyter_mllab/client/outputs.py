"""A run's output files from code: ``mllab.run_outputs("3f9a0c1b2d4e", dest="out")``.

Works on the lab's home directly (no server): the job store says which MLflow run a job
is, and the manifest and files come from MLflow (downloaded once into the lab's cache).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from . import home, tracking_uri

_JOB_ID = re.compile(r"^[0-9a-f]{12}$")


def _run_of(run: str) -> tuple[str | None, str, str]:
    """(MLflow run id or None, the mode its record says, how to name it in messages)."""
    from ..errors import BadRequest

    if not isinstance(run, str) or not run.strip():
        raise BadRequest("Name a run: a job id or an MLflow run id.", reason="bad_run")
    run = run.strip()
    if _JOB_ID.match(run):
        from ..jobs.outputs import record_mode
        from ..jobs.store import JobStore

        job = JobStore(home()).get(run)
        if job.kind == "sweep":
            raise BadRequest(
                f"Job {run} is a sweep: each of its runs has its own outputs.",
                reason="sweep_outputs",
            )
        return job.mlflow_run_id, record_mode(job), f"Job {run}"
    return run, "isolated", f"Run {run}"


def _check_run(client: Any, run_id: str) -> None:
    from mlflow.exceptions import MlflowException

    from ..errors import NotFound

    try:
        client.get_run(run_id)
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            raise NotFound(f"MLflow has no run {run_id}.", reason="no_run") from None
        raise


def run_outputs(run: str, dest: str | Path | None = None) -> list[dict[str, Any]]:
    """The output files of a run (a job id or an MLflow run id): each a dict ``path``,
    ``size``, ``saved`` and, for a skipped one, ``reason``. With ``dest``, the saved files
    are copied there (``dest/<path>``) and each saved one gets its ``local_path``."""
    from mlflow.tracking import MlflowClient

    from ..jobs.outputs import RunOutputs

    run_id, mode, where = _run_of(run)
    if run_id is None:
        return []
    client = MlflowClient(tracking_uri())
    reader = RunOutputs(lambda: client, home())
    manifest = reader.manifest(run_id, mode)
    if manifest is None:
        _check_run(client, run_id)  # an unknown run is a 404, not "no outputs"
        return []
    files = [dict(f) for f in manifest["files"]]
    if dest is None:
        return files
    root = Path(dest).expanduser().resolve()
    for item in files:
        if not item["saved"]:
            continue
        entry = reader.entry(manifest, item["path"], where)
        local = reader.fetch(run_id, entry)
        target = root / entry["path"]
        if root not in target.resolve().parents:  # clean_path forbids this; keep it so
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(local, target)
        item["local_path"] = str(target)
    return files
