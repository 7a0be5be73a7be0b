"""A job's output files for the REST API: list, download, preview, promote to a dataset.

Reads what the runner logged into the job's MLflow run (``outputs.json`` and
``outputs/<path>``, jobs/outputs.py); every method runs its blocking work in a thread.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._threads import run_sync
from ..datasets.ingest import stage_file
from ..datasets.keys import validate_dataset_name
from ..datasets.preview import kind_of, preview_file
from ..datasets.store import DatasetStore, NewVersion, guess_media_type
from ..errors import BadRequest
from ..projects.store import Project
from .outputs import RunOutputs, empty_manifest, record_mode
from .store import Job, JobStore

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient


class JobOutputsService:
    """Needs the job store (which run is a job's), an MLflow client (the lab's tracking
    store) and the dataset store (promoting a file); ``home`` holds the download cache."""

    def __init__(
        self,
        jobs: JobStore,
        datasets: DatasetStore,
        client: Callable[[], MlflowClient],
        home: Path,
    ):
        self.jobs = jobs
        self.datasets = datasets
        self.reader = RunOutputs(client, home)
        self._decode_lock = threading.Lock()  # one image decode at a time (each is bounded)

    def forget_project(self, project: Project) -> None:
        """Drop the downloaded outputs of a project being deleted (its runs go with it)."""
        offset = 0
        while True:
            jobs, total = self.jobs.list_jobs(project=project.name, limit=500, offset=offset)
            for job in jobs:
                if job.mlflow_run_id:
                    with contextlib.suppress(BadRequest):  # not a run id: nothing cached
                        cache = self.reader.cache_dir(job.mlflow_run_id)
                        shutil.rmtree(cache, ignore_errors=True)
            offset += len(jobs)
            if not jobs or offset >= total:
                return

    def _job(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job.kind == "sweep":
            raise BadRequest(
                f"Job {job_id} is a sweep: it has no outputs of its own; each of its runs "
                "has its own.",
                reason="sweep_outputs",
            )
        return job

    def _manifest(self, job: Job) -> dict[str, Any]:
        mode = record_mode(job)
        if not job.mlflow_run_id:
            return empty_manifest(mode)
        return self.reader.manifest(job.mlflow_run_id, mode) or empty_manifest(mode)

    def _saved(self, job_id: str, path: str) -> tuple[Job, dict[str, Any], Path]:
        job = self._job(job_id)
        manifest = self._manifest(job)
        entry = self.reader.entry(manifest, path, f"Job {job_id}")
        assert job.mlflow_run_id  # a manifest with saved files comes from its run
        return job, entry, self.reader.fetch(job.mlflow_run_id, entry)

    async def list(self, job_id: str) -> dict[str, Any]:
        def work() -> dict[str, Any]:
            manifest = self._manifest(self._job(job_id))
            files = [
                {**f, "kind": kind_of(f["path"], guess_media_type(f["path"]))}
                for f in manifest["files"]
            ]
            return {"mode": manifest["mode"], "files": files, "warnings": manifest["warnings"]}

        return await run_sync(work)

    async def file(self, job_id: str, path: str) -> tuple[Path, str, int]:
        """(local copy, file name, size) of a saved output file."""

        def work() -> tuple[Path, str, int]:
            _, entry, local = self._saved(job_id, path)
            return local, entry["path"].rsplit("/", 1)[-1], local.stat().st_size

        return await run_sync(work)

    async def preview(self, job_id: str, path: str, rows: int = 50) -> dict[str, Any]:
        """The dataset preview of an output file (same limits, same shape)."""

        def work() -> dict[str, Any]:
            _, entry, local = self._saved(job_id, path)
            filename = entry["path"].rsplit("/", 1)[-1]
            with self._decode_lock:
                out = preview_file(local, filename, guess_media_type(filename), rows)
            out["key"] = f"{job_id}/outputs/{entry['path']}"
            return out

        return await run_sync(work)

    async def promote(
        self, job_id: str, path: str, body: dict[str, Any], author: str
    ) -> dict[str, Any]:
        """A new version of dataset ``body["dataset"]`` (in ``body["project"]``, default the
        job's project) holding the output file; the version records the run it came from."""

        def work() -> dict[str, Any]:
            name = validate_dataset_name(body.get("dataset"))
            job, entry, local = self._saved(job_id, path)
            project = self.datasets.projects.get(body.get("project") or job.project)
            blobs = self.datasets.blobs(project)
            staged = stage_file(blobs, local, entry["path"].rsplit("/", 1)[-1])
            meta = NewVersion(
                filename=staged.path,
                description=body.get("description") or "",
                author=author,
                source=f"output {entry['path']} of job {job.id}",
                source_run_id=job.mlflow_run_id,
                source_job_id=job.id,
                source_path=entry["path"],
            )
            try:
                version = self.datasets.add_version(project, name, meta, blob=staged)
            except BaseException:
                if staged.temp is not None:
                    staged.temp.unlink(missing_ok=True)
                raise
            return version.to_json()

        return await run_sync(work)
