"""The job's MLflow run: created with its tags, parameters and datasets before the
notebook runs, ended with its metrics, output notebook and status after."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from ..provenance import environment_tags, git_commit

log = logging.getLogger(__name__)

# The job's status -> the MLflow run's status (the one map: runner and scheduler use it).
MLFLOW_STATUS = {"COMPLETED": "FINISHED", "CANCELLED": "KILLED", "FAILED": "FAILED"}


def mlflow_status(job_status: str) -> str:
    return MLFLOW_STATUS.get(job_status, "FAILED")


class MlflowRecording:
    """One job's MLflow run. ``mlflow_run_id`` is set as soon as the run exists (also
    when logging its tags then fails, so that the job's failure names it)."""

    def __init__(self, spec: dict[str, Any]):
        self.spec = spec
        self.job_id: str = spec["id"]
        self.mlflow_run_id: str | None = None

    def start(self) -> tuple[Any, str]:
        from mlflow.entities import Param, RunTag
        from mlflow.tracking import MlflowClient

        spec = self.spec
        client = MlflowClient(spec["tracking_uri"])
        content = spec["notebook_content"].encode()
        tags = {
            "mlflow.source.name": spec["notebook"],
            "mlflow.source.type": "NOTEBOOK",
            "mlflow.user": spec.get("user") or os.environ.get("USER", ""),
            "mllab.job_id": self.job_id,
            "mllab.notebook": spec["notebook"],
            "mllab.project": spec["project"],
            "mllab.notebook_sha256": hashlib.sha256(content).hexdigest(),
            "mllab.workdir": "in_place" if spec.get("in_place") else "isolated",
            **environment_tags(),
            **{str(k): str(v) for k, v in (spec.get("tags") or {}).items()},
        }
        if spec.get("parent_run_id"):
            tags["mlflow.parentRunId"] = spec["parent_run_id"]
            tags["mllab.sweep_id"] = spec["parent_id"]
        commit = git_commit(Path(spec["notebook"]))
        if commit:
            tags["mlflow.source.git.commit"] = commit
        run = client.create_run(spec["experiment_id"], run_name=spec["run_name"])
        run_id = self.mlflow_run_id = run.info.run_id
        try:
            params = [
                Param(k, json.dumps(v) if not isinstance(v, str) else v)
                for k, v in (spec["parameters"] or {}).items()
            ]
            tag_list = [RunTag(k, v) for k, v in tags.items()]
            for i in range(0, max(len(params), len(tag_list), 1), 100):  # MLflow's batch limit
                client.log_batch(run_id, params=params[i : i + 100], tags=tag_list[i : i + 100])
            self.log_datasets(run_id)
        except BaseException:
            # The run exists: end it, or it stays RUNNING in MLflow for ever.
            try:
                client.set_terminated(run_id, "FAILED")
            except Exception:
                log.exception("Could not end MLflow run %s", run_id)
            raise
        return client, run_id

    def log_datasets(self, run_id: str) -> None:
        if not self.spec.get("datasets"):
            return
        try:
            from ..lineage import record_dataset_input, resolve_dataset

            spec = self.spec
            home = Path(spec["env"]["MLLAB_HOME"])
            for key in spec["datasets"]:
                version = resolve_dataset(home, key, spec["project"])
                record_dataset_input(spec["tracking_uri"], run_id, version, context="input")
        except Exception:
            log.exception("Could not record the datasets of job %s", self.job_id)

    def log_outputs(self, client: Any, run_id: str, outputs: dict[str, Any]) -> None:
        import shutil

        manifest = outputs["manifest"]
        staged = outputs.get("staged")
        try:
            if staged:
                try:
                    client.log_artifacts(run_id, staged, "outputs")
                except Exception as exc:
                    log.exception("Could not save the outputs of job %s", self.job_id)
                    for item in manifest["files"]:
                        if item["saved"]:
                            item.update(saved=False, reason=f"the upload failed: {exc}")
                    manifest["warnings"].append(f"Saving the outputs failed: {exc}")
            client.log_dict(run_id, manifest, "outputs.json")
        except Exception:
            log.exception("Could not record the outputs manifest of job %s", self.job_id)
        finally:
            if staged:
                shutil.rmtree(staged, ignore_errors=True)

    def finish(
        self,
        client: Any,
        run_id: str,
        status: str,
        output: Path,
        started: float,
        finished: float,
        summary: dict[str, Any] | None,
        outputs: dict[str, Any] | None = None,
    ) -> None:
        """``outputs``: ``{"manifest", "staged"}`` from the runner: the staged files go
        under the run's ``outputs/`` artifacts, the manifest to ``outputs.json``."""
        from mlflow.entities import Metric

        now = int(finished * 1000)
        metrics = [Metric("duration_s", round(finished - started, 3), now, 0)]
        if summary:
            names = {
                "peak_rss_bytes": ("system/peak_rss_mb", 1 / 2**20),
                "mean_cpu_percent": ("system/mean_cpu_percent", 1.0),
                "peak_gpu_memory_bytes": ("system/peak_gpu_memory_mb", 1 / 2**20),
            }
            for key, (name, scale) in names.items():
                if summary.get(key) is not None:
                    metrics.append(Metric(name, round(summary[key] * scale, 3), now, 0))
            for i, point in enumerate(summary.get("series", [])):
                ts = int(point["t"] * 1000)
                metrics.append(Metric("system/cpu_percent", point["cpu_percent"], ts, i))
                metrics.append(Metric("system/rss_mb", point["rss_bytes"] / 2**20, ts, i))
        try:
            for i in range(0, len(metrics), 900):
                client.log_batch(run_id, metrics=metrics[i : i + 900])
            if output.exists():
                client.log_artifact(run_id, str(output))
        except Exception:
            log.exception("Could not record the results of job %s in MLflow", self.job_id)
        if outputs is not None:
            self.log_outputs(client, run_id, outputs)
        try:
            client.set_terminated(run_id, mlflow_status(status), end_time=now)
        except Exception:
            log.exception("Could not end MLflow run %s", run_id)
