"""Datasets as MLflow inputs: which version a key names, and its record on a run.

Shared by the kernel client (``mllab.get_dataset`` in a run) and the server's job runner
(the datasets a job was submitted with). Light: the stores are SQLite, and mlflow is
imported only when a record is made.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .datasets.store import Version

log = logging.getLogger(__name__)
MLFLOW_DIGEST_LENGTH = 36  # MLflow's datasets.digest column


def resolve_dataset(home: Path, key: str, project: str) -> Version:
    """The version ``key`` names in the lab at ``home`` (a bare name: in ``project``)."""
    from .datasets.keys import parse_key
    from .datasets.store import DatasetStore
    from .projects.store import ProjectStore

    return DatasetStore(ProjectStore(home)).resolve(parse_key(key, project))


def record_dataset_input(
    tracking_uri: str, run_id: str, version: Version, context: str = "input"
) -> bool:
    """Log ``version`` as an input of the MLflow run ``run_id``, our sha256 as its digest."""
    from mlflow.entities import Dataset, DatasetInput, InputTag
    from mlflow.tracking import MlflowClient

    dataset = Dataset(
        name=version.key,
        digest=version.sha256[:MLFLOW_DIGEST_LENGTH],
        source_type="mllab",
        source=json.dumps({"key": version.key, "sha256": version.sha256}),
        profile=json.dumps({"size": version.size, "files": version.file_count}),
    )
    tags = [InputTag("mlflow.data.context", context)]
    try:
        MlflowClient(tracking_uri).log_inputs(run_id, datasets=[DatasetInput(dataset, tags)])
    except Exception:
        log.exception("Could not record %s as an input of run %s", version.key, run_id)
        return False
    return True
