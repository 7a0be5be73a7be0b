"""What a service serves: a registered version (by number or alias) or a ``.mlbundle``,
resolved and laid out as a local MLflow model folder for the service process.

Every method blocks (MLflow, downloads, unzipping): the supervisor calls them in threads.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BadRequest, NotFound
from ..models.names import parse_model_key
from ..models.store import MLMODEL, ModelRegistry
from ..models.views import input_example_of

if TYPE_CHECKING:
    from ..projects.store import ProjectStore


def normalize_key(key: str, project: str) -> tuple[str, str | None]:
    """``wine@champion`` -> (``project/wine@champion``, ``champion``); a version is required."""
    parsed = parse_model_key(key, project)
    if parsed.version is None and parsed.alias is None:
        raise BadRequest(
            f"'{key}': name a version or an alias (wine@3, wine@champion).", reason="invalid_key"
        )
    return str(parsed), parsed.alias


class ModelSources:
    def __init__(self, registry: ModelRegistry, projects: ProjectStore, root_dir: Path):
        self.registry = registry
        self.projects = projects
        self.root_dir = root_dir

    def resolve(self, key: str, project: str) -> dict[str, Any]:
        """``{"name", "version", "key", "run_id", "project"}`` of a model key (404s)."""
        parsed = parse_model_key(key, project)
        self.projects.get(parsed.project)  # 404 no_such_project
        shown = f"{parsed.project}/{parsed.name}"
        self.registry.get_model(parsed.registered, shown)  # no_model before no_version
        if parsed.version is not None:
            mv = self.registry.get_version(parsed.registered, parsed.version, shown)
        elif parsed.alias is not None:
            mv = self.registry.version_by_alias(parsed.registered, parsed.alias, shown)
        else:
            raise BadRequest(f"'{key}': name a version or an alias.", reason="invalid_key")
        version = int(mv.version)
        return {
            "name": parsed.name,
            "version": version,
            "key": f"{parsed.project}/{parsed.name}@{version}",
            "run_id": mv.run_id or None,
            "project": parsed.project,
            "registered": parsed.registered,
        }

    def alias_version(self, registered: str, alias: str) -> int | None:
        """The version an alias points at now (None if it is gone)."""
        try:
            return int(self.registry.version_by_alias(registered, alias, registered).version)
        except NotFound:
            return None

    def bundle_path(self, contents_path: str) -> Path:
        """The ``.mlbundle`` at a Jupyter contents path (never outside the root)."""
        path = contents_path
        if not isinstance(path, str) or not path.strip() or "\x00" in path:
            raise BadRequest("'bundle' must be the path of a .mlbundle file.", reason="bad_path")
        base = self.root_dir.resolve()
        target = (base / contents_path.lstrip("/")).resolve()
        if base not in target.parents:
            raise BadRequest(f"'{path}' is outside the Jupyter root.", reason="outside_root")
        if not target.is_file():
            raise NotFound(f"There is no file '{contents_path}'.", reason="no_bundle")
        if target.suffix != ".mlbundle":
            raise BadRequest(f"'{contents_path}' is not a .mlbundle file.", reason="not_a_bundle")
        return target

    def bundle_model(self, bundle: Path) -> dict[str, Any]:
        """The model a bundle carries, from its card."""
        import zipfile

        from ..serve.bundle_main import CARD, read_member

        try:
            card = json.loads(read_member(bundle, CARD))
        except (KeyError, ValueError, OSError, zipfile.BadZipFile):
            raise BadRequest(
                f"{bundle.name} is not a model bundle.", reason="not_a_bundle"
            ) from None
        name = str(card.get("name") or bundle.stem)
        version = card.get("version")
        return {
            "name": name,
            "version": int(version) if isinstance(version, int) else None,
            "key": card.get("key") or name,
            "run_id": card.get("run_id"),
            "project": card.get("project"),
        }

    def prepare(self, model: dict[str, Any], bundle: Path | None, dest: Path) -> Path:
        """The model as a local folder under ``dest`` (downloaded or extracted once)."""
        if bundle is not None:
            from ..serve.bundle_main import extract_model

            return extract_model(bundle, str(dest / "bundles"))
        folder = dest / f"v{model['version']}"
        if (folder / MLMODEL).is_file():
            return folder
        staging = dest / f".v{model['version']}.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        location = self.registry.version_location(model["registered"], model["version"])
        local = self.registry.download(location, staging)
        if not (local / MLMODEL).is_file():
            shutil.rmtree(staging, ignore_errors=True)
            raise BadRequest(f"{model['key']} holds no MLmodel file.", reason="not_a_model")
        if local != staging:
            shutil.move(str(local), str(folder))
            shutil.rmtree(staging, ignore_errors=True)
        else:
            staging.rename(folder)
        return folder


def input_example(model_dir: Path) -> dict[str, Any] | None:
    """The model's input example as ``{"columns", "data"}`` (dataframe_split), if any."""
    try:
        from mlflow.models import Model

        info = Model.load(str(model_dir / MLMODEL)).saved_input_example_info or {}
        path = model_dir / str(info.get("artifact_path") or "input_example.json")
        if not path.is_file() or path.stat().st_size > 4 << 20:
            return None
        example = input_example_of(json.loads(path.read_text(encoding="utf-8")))
    except Exception:
        return None
    if example is None:
        return None
    return {"columns": example["columns"], "data": example["data"]}
