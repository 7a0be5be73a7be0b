"""A run's output files, read back: the manifest ``outputs.json`` and the artifacts
``outputs/<path>`` that the runner logs into the job's MLflow run (issue #17).

Shared by the server (REST, jobs/outputs_service.py) and the kernel client
(``mllab.run_outputs``): stdlib only at import, mlflow inside the functions. Files are
downloaded once into ``<home>/cache/outputs/<run_id>/files/`` (a run's outputs never
change once its manifest exists) and served or copied from there.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BadRequest, NotFound

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from .store import Job

MANIFEST = "outputs.json"  # at the run's artifact root
PREFIX = "outputs"  # each saved file is the artifact outputs/<path>
MODES = ("isolated", "in_place")
WORKDIR_TAG = "mllab.workdir"
_RUN_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")


def clean_path(path: object) -> str | None:
    """A manifest path as given ("plots/a.png"), or None when it is not a plain relative
    path: empty, absolute, with "..", ".", empty parts, backslashes or NUL."""
    if not isinstance(path, str) or not path or len(path) > 4096:
        return None
    if "\x00" in path or "\\" in path or path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        return None
    if any(part in ("", ".", "..") for part in path.split("/")):
        return None
    return path


def no_output(where: str, path: object) -> NotFound:
    return NotFound(f"{where} has no saved output file '{path}'.", reason="no_output")


def record_mode(job: Job) -> str:
    """The working-folder mode a job's record says it asked for."""
    mode = getattr(job, "workdir_mode", None)
    if mode in ("isolated", "in_place"):
        return str(mode)
    return "in_place" if job.spec.get("in_place") else "isolated"


def empty_manifest(mode: str) -> dict[str, Any]:
    return {"mode": mode, "files": [], "warnings": []}


def normalize(manifest: Any, default_mode: str) -> dict[str, Any]:
    """The manifest with the fields a reader relies on, each of the right type; entries
    whose path is not a plain relative path are dropped (never served)."""
    if not isinstance(manifest, dict):
        return empty_manifest(default_mode)
    mode = manifest.get("mode") if manifest.get("mode") in MODES else default_mode
    files = []
    for entry in manifest.get("files") or []:
        if not isinstance(entry, dict) or clean_path(entry.get("path")) is None:
            continue
        size = entry.get("size")
        item: dict[str, Any] = {
            "path": entry["path"],
            "size": size if isinstance(size, int) and size >= 0 else 0,
            "saved": entry.get("saved") is True,
        }
        if not item["saved"]:
            item["reason"] = str(entry.get("reason") or "not saved")
        files.append(item)
    warnings = [str(w) for w in manifest.get("warnings") or [] if isinstance(w, str)]
    return {**manifest, "mode": mode, "files": files, "warnings": warnings}


class RunOutputs:
    """Reads one lab's run outputs through MLflow (a local store or a tracking server)."""

    def __init__(self, client: Callable[[], MlflowClient], home: Path):
        self._client = client
        self.home = Path(home)

    def cache_dir(self, run_id: str) -> Path:
        if not _RUN_ID.match(run_id):
            raise BadRequest(f"'{run_id}' is not an MLflow run id.", reason="bad_run_id")
        return self.home / "cache" / "outputs" / run_id

    def manifest(self, run_id: str, default_mode: str = "isolated") -> dict[str, Any] | None:
        """The run's manifest (normalized), or None when the run logged none (yet)."""
        cached = self.cache_dir(run_id) / "manifest.json"
        raw: Any = None
        if cached.exists():
            with contextlib.suppress(OSError, ValueError):
                raw = json.loads(cached.read_text())
        if raw is None:
            data = self._download(run_id, MANIFEST)
            if data is None:
                return None
            try:
                raw = json.loads(data.read_text())
            except (OSError, ValueError):
                return {**empty_manifest(default_mode), "warnings": ["outputs.json is unreadable"]}
            finally:
                shutil.rmtree(data.parent, ignore_errors=True)
            # Logged once, when the run ended: it does not change after.
            _write_atomic(cached, json.dumps(raw).encode())
        return normalize(raw, default_mode)

    def entry(self, manifest: dict[str, Any] | None, path: object, where: str) -> dict[str, Any]:
        """The manifest's entry of a saved file, else a 404 ``no_output``."""
        clean = clean_path(path)
        if clean is not None and manifest is not None:
            for item in manifest["files"]:
                if item["path"] == clean and item["saved"]:
                    return dict(item)
        raise no_output(where, path)

    def fetch(self, run_id: str, entry: dict[str, Any]) -> Path:
        """A local copy of a saved output file (downloaded at most once)."""
        rel = clean_path(entry["path"])
        if rel is None:  # normalize() kept only clean paths
            raise no_output(f"Run {run_id}", entry["path"])
        target = self.cache_dir(run_id) / "files" / rel
        if target.is_file() and target.stat().st_size == entry["size"]:
            return target
        data = self._download(run_id, f"{PREFIX}/{rel}")
        if data is None:
            raise NotFound(
                f"Run {run_id} lists '{rel}' as saved, but MLflow has no such artifact.",
                reason="no_output",
            )
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(data, target)
        finally:
            shutil.rmtree(data.parent, ignore_errors=True)
        return target

    def _download(self, run_id: str, artifact: str) -> Path | None:
        """One artifact into a fresh temporary folder of the cache (its caller removes the
        folder), or None when the run has no such file."""
        from mlflow.exceptions import MlflowException

        base = self.cache_dir(run_id)
        base.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=base))
        try:
            local = Path(self._client().download_artifacts(run_id, artifact, str(tmp)))
        except (MlflowException, OSError) as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            # no such artifact (or run): the caller's 404; any other fault is real
            if isinstance(exc, MlflowException) and exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                return None
            if isinstance(exc, FileNotFoundError):
                return None
            raise
        if not local.is_file():  # a folder of that name, or nothing
            shutil.rmtree(tmp, ignore_errors=True)
            return None
        if local.parent != tmp:  # keep the file's folder the one its caller removes
            moved = tmp / f".file-{os.getpid()}"
            os.replace(local, moved)
            local = moved
        return local


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
