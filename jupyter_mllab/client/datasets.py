"""Datasets from code: ``mllab.get_dataset("wine@3")``, ``load_dataset``, ``upload_dataset``.

Works on the lab's home directly (no server needed); a tracked run records every dataset
it opens as an MLflow input, with our sha256 as its digest.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import paths
from . import _store, current_project, home, tracking_uri
from .runs import active_run_id

if TYPE_CHECKING:
    import pandas

    from ..datasets.store import DatasetStore, Version


def _datasets() -> DatasetStore:
    from ..datasets.store import DatasetStore

    return DatasetStore(_store())


def dataset_info(key: str) -> dict[str, Any]:
    """What a key names: version, sha256, size, files, ... (``@latest`` when no version)."""
    return _resolve(key).to_json()


def _resolve(key: str) -> Version:
    from ..lineage import resolve_dataset

    return resolve_dataset(home(), key, current_project())


def list_datasets(project: str | None = None, search: str = "") -> list[dict[str, Any]]:
    """The datasets of ``project`` (default: the current one) whose name, description,
    tags or file name contain ``search``, each with its latest version."""
    store = _datasets()
    return store.list_datasets(store.projects.get(project or current_project()), search)


def get_dataset(key: str, record: bool = True) -> Path:
    """A local, read-only path for a version: the file, or the folder of a folder dataset."""
    from ..datasets.materialize import materialize

    store = _datasets()
    version = _resolve(key)
    path = materialize(store, version)
    if record:
        record_input(version)
    return path


def load_dataset(key: str, **read_options: Any) -> pandas.DataFrame:
    """A tabular version (CSV, TSV, Parquet, JSON, JSON lines) as a pandas DataFrame.

    A folder of such files loads as one frame, its files stacked in path order.
    """
    import pandas as pd

    path = get_dataset(key)
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    frames = [_read(p, read_options) for p in files]
    frames = [f for f in frames if f is not None]
    if not frames:
        raise ValueError(
            f"{key} holds no tabular file (CSV, TSV, Parquet, JSON); use get_dataset() for a path."
        )
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def _read(path: Path, options: dict[str, Any]) -> pandas.DataFrame | None:
    import pandas as pd

    name = path.name.lower()
    if name.endswith(".csv"):
        return pd.read_csv(path, **options)
    if name.endswith(".tsv"):
        return pd.read_csv(path, sep="\t", **options)
    if name.endswith((".parquet", ".pq")):
        return pd.read_parquet(path, **options)
    if name.endswith((".jsonl", ".ndjson")):
        return pd.read_json(path, lines=True, **options)
    if name.endswith(".json"):
        return pd.read_json(path, **options)
    return None


def upload_dataset(
    path: str | os.PathLike[str],
    name: str | None = None,
    description: str = "",
    tags: list[str] | tuple[str, ...] = (),
    extract: bool = False,
    project: str | None = None,
    sha256: str | None = None,
    derived_from: list[str] | tuple[str, ...] | str = (),
) -> dict[str, Any]:
    """Add a version from a file, a folder, or an archive (``extract=True`` unpacks it).

    ``sha256``: the digest the file (or archive) must have, e.g. a published checksum;
    where the bytes read differ, nothing is stored and ``Conflict`` is raised.
    ``derived_from``: the keys of the versions it was made from, recorded as exact keys
    (``project/name@N``; a key that names no version stores nothing). In a tracked run the
    version also records the run and job that made it, and the run lists the parents as
    its inputs."""
    from ..datasets.ingest import Origin, ingest_path

    source = Path(path).expanduser()
    if not source.exists():
        raise FileNotFoundError(f"No file or folder at {source}")
    keys = [derived_from] if isinstance(derived_from, str) else list(derived_from)
    parents = [_resolve(key) for key in keys]  # NotFound / BadRequest before anything is stored
    run_id = active_run_id()
    origin = Origin(
        source_run_id=run_id,
        source_job_id=os.environ.get(paths.JOB_ENV) if run_id else None,
        derived_from=tuple(dict.fromkeys(p.key for p in parents)),
    )
    store = _datasets()
    target = store.projects.get(project or current_project())
    version = ingest_path(
        store,
        target,
        source,
        name=name,
        description=description,
        tags=tags,
        extract_archive=extract,
        sha256=sha256,
        origin=origin,
    )
    for parent in parents:
        record_input(parent, run_id=run_id)
    return version.to_json()


def record_input(version: Version, context: str = "input", run_id: str | None = None) -> bool:
    """Log the version as an input of ``run_id`` or the active run (a no-op outside a run)."""
    run_id = run_id or active_run_id()
    if not run_id:
        return False
    from ..lineage import record_dataset_input

    return record_dataset_input(tracking_uri(), run_id, version, context)
