"""``.mlbundle`` files: one MLflow model as a self-contained, executable zip (issue #13).

A bundle is a zipapp. ``python wine.mlbundle`` serves the model with MLflow's scoring
protocol, ``python wine.mlbundle predict input.csv`` predicts, ``info`` prints the card,
``extract`` unpacks the MLflow model folder for ``mlflow.pyfunc.load_model``. Only the
model's own (pinned) requirements are needed where it runs: the bundle carries the
serving code, a copy of ``jupyter_mllab/serve/`` (read from this package's files when the
bundle is built: the same code) under the private name ``_mllab_serve``.

Layout (deterministic: fixed order and timestamps, so one model and card give one file)::

    __main__.py            calls _mllab_serve.bundle_main.main
    _mllab_serve/*.py      the serving module
    model/...              the MLflow model folder as it is
    requirements.txt       pinned (==) from the model's, plus what serving needs
    conda.yaml             the model's, with those pinned pip requirements
    README.md              how to run, serve, predict, load it; signature; input example
    MODEL_CARD.md          metrics, parameters, datasets, notebook, commit, who and when
    card.json              the card (without its lineage)
    lineage.json           the lineage

Import-light: the kernel calls it (``mllab.log_model(format="bundle")``), so neither mlflow
nor yaml is imported before :func:`build_bundle` runs.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import uuid
import zipfile
from importlib import metadata, resources
from pathlib import Path
from typing import Any

from ..errors import BadRequest
from .bundle_docs import python_version, read_yaml, render_model_card, render_readme

SERVE_PACKAGE = "_mllab_serve"
SHEBANG = b"#!/usr/bin/env python3\n"
# What the serving module imports, beside the model's own requirements: uvicorn comes with
# mlflow(-skinny); httptools and uvloop are its speed-ups (the service runs without them).
SERVING_REQUIREMENTS = ("mlflow", "pandas", "numpy", "uvicorn", "httptools", "uvloop")
_SERVING_MARKERS = {"uvloop": '; sys_platform != "win32"'}  # uvloop has no Windows build
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
# Files that are compressed already (a .keras file and torch's .pt are zips): stored as they are.
_PACKED = (".keras", ".zip", ".gz", ".bz2", ".xz", ".zst", ".npz", ".pt", ".pth", ".onnx.gz")
_MAIN = f'''\
"""A model bundle made by jupyter_mllab: python <this file> [serve|predict|info|extract] -h"""

import os
import sys

from {SERVE_PACKAGE}.bundle_main import main

sys.exit(main(os.path.dirname(os.path.abspath(__file__))))
'''
_REQUIREMENT = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?P<extras>\[[^\]]*\])?\s*"
    r"(?P<spec>[^;]*?)\s*(?P<marker>;.*)?$"
)


def build_bundle(model_dir: Path, dest: Path, *, card: dict[str, Any]) -> Path:
    """Write the ``.mlbundle`` of the MLflow model in ``model_dir`` to ``dest`` (atomically)."""
    model_dir, dest = Path(model_dir), Path(dest)
    if not (model_dir / "MLmodel").is_file():
        raise BadRequest(
            f"{model_dir} holds no MLflow model (no MLmodel file).", reason="not_a_model"
        )
    mlmodel = read_yaml(model_dir / "MLmodel")
    requirements = pin_requirements(_read_lines(model_dir / "requirements.txt"))
    members: dict[str, bytes | Path] = {"__main__.py": _MAIN.encode()}
    for name, source in _serve_sources():
        members[f"{SERVE_PACKAGE}/{name}"] = source
    for path in _model_files(model_dir):
        members[f"model/{path.relative_to(model_dir).as_posix()}"] = path  # streamed in
    info = {key: value for key, value in card.items() if key != "lineage"}
    members["card.json"] = _json_bytes(info)
    members["lineage.json"] = _json_bytes(card.get("lineage") or {})
    members["requirements.txt"] = "".join(f"{line}\n" for line in requirements).encode()
    members["conda.yaml"] = _conda_yaml(model_dir, mlmodel, requirements).encode()
    members["README.md"] = render_readme(dest.name, card, mlmodel, model_dir, requirements).encode()
    members["MODEL_CARD.md"] = render_model_card(card, mlmodel, requirements).encode()
    _write_zip(dest, members)
    return dest


# -- requirements ---------------------------------------------------------------------------


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _installed(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def pin_requirements(lines: list[str]) -> list[str]:
    """The requirements with each package pinned (``==``) to the version installed here.

    A line already pinned with ``==`` is kept; pip options (``-r``, ``--index-url``) and
    URLs are kept as they are; a package not installed here keeps its specifier. The
    packages the serving module imports are added when missing.
    """
    pinned: list[str] = []
    names: set[str] = set()
    for raw in lines:
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        match = _REQUIREMENT.match(line)
        if line.startswith("-") or "://" in line or " @ " in line or not match:
            pinned.append(line)
            continue
        name, extras, spec, marker = match.group("name", "extras", "spec", "marker")
        names.add(_canonical(name))
        version = _installed(name)
        if (spec.startswith("==") and "," not in spec) or version is None:
            pinned.append(line)
        else:
            pinned.append(f"{name}{extras or ''}=={version}{marker or ''}")
    if "mlflow-skinny" in names:
        names.add("mlflow")
    for name in SERVING_REQUIREMENTS:
        version = _installed(name) or (_installed("mlflow-skinny") if name == "mlflow" else None)
        if name not in names and version is not None:
            pinned.append(f"{name}=={version}{_SERVING_MARKERS.get(name, '')}")
    return pinned


def _conda_yaml(model_dir: Path, mlmodel: dict[str, Any], requirements: list[str]) -> str:
    import yaml

    path = model_dir / "conda.yaml"
    env = read_yaml(path) if path.is_file() else {}
    if not env.get("dependencies"):
        env = {
            "name": "mlflow-env",
            "channels": ["conda-forge"],
            "dependencies": [f"python={python_version(model_dir, mlmodel)}", "pip"],
        }
    dependencies = [d for d in env["dependencies"] if not (isinstance(d, dict) and "pip" in d)]
    env["dependencies"] = [*dependencies, {"pip": requirements}]
    return str(yaml.safe_dump(env, sort_keys=False, default_flow_style=False))


# -- files ----------------------------------------------------------------------------------


def _serve_sources() -> list[tuple[str, bytes]]:
    package = resources.files("jupyter_mllab.serve")
    found = [
        (item.name, item.read_bytes()) for item in package.iterdir() if item.name.endswith(".py")
    ]
    return sorted(found)


def _model_files(model_dir: Path) -> list[Path]:
    files: list[Path] = []
    for root, dirs, names in os.walk(model_dir):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        files += [Path(root) / name for name in sorted(names) if (Path(root) / name).is_file()]
    return files


def _write_zip(dest: Path, members: dict[str, bytes | Path]) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    temp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.tmp")
    order = ["__main__.py", *sorted(name for name in members if name != "__main__.py")]
    try:
        with open(temp, "wb") as handle:
            handle.write(SHEBANG)  # zipapp's way: `./wine.mlbundle` runs it too
            with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for name in order:
                    entry = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
                    packed = name.lower().endswith(_PACKED)
                    entry.compress_type = zipfile.ZIP_STORED if packed else zipfile.ZIP_DEFLATED
                    entry.external_attr = 0o644 << 16
                    content = members[name]
                    if isinstance(content, bytes):
                        archive.writestr(entry, content)
                        continue
                    # A model file may be gigabytes: copied in blocks, never read whole.
                    # (ZIP64 only where needed: zipimport reads it from Python 3.13 on.)
                    large = content.stat().st_size >= zipfile.ZIP64_LIMIT
                    with (
                        open(content, "rb") as source,
                        archive.open(entry, "w", force_zip64=large) as out,
                    ):
                        shutil.copyfileobj(source, out, 1 << 20)
            handle.flush()
            os.fsync(handle.fileno())
        mode = os.stat(temp).st_mode
        os.chmod(temp, mode | ((mode & 0o444) >> 2))  # executable where readable
        os.replace(temp, dest)
    finally:
        temp.unlink(missing_ok=True)


def _read_lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.is_file() else []


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(key): _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(_finite(value), indent=2, default=str, allow_nan=False) + "\n").encode()
