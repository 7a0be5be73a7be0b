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

import datetime
import json
import math
import os
import platform
import re
import shutil
import uuid
import zipfile
from importlib import metadata, resources
from pathlib import Path
from typing import Any

from ..errors import BadRequest

SERVE_PACKAGE = "_mllab_serve"
SHEBANG = b"#!/usr/bin/env python3\n"
# What the serving module imports, beside the model's own requirements.
SERVING_REQUIREMENTS = ("mlflow", "pandas", "numpy")
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
    mlmodel = _read_yaml(model_dir / "MLmodel")
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
            pinned.append(f"{name}=={version}")
    return pinned


def _conda_yaml(model_dir: Path, mlmodel: dict[str, Any], requirements: list[str]) -> str:
    import yaml

    path = model_dir / "conda.yaml"
    env = _read_yaml(path) if path.is_file() else {}
    if not env.get("dependencies"):
        env = {
            "name": "mlflow-env",
            "channels": ["conda-forge"],
            "dependencies": [f"python={_python_version(model_dir, mlmodel)}", "pip"],
        }
    dependencies = [d for d in env["dependencies"] if not (isinstance(d, dict) and "pip" in d)]
    env["dependencies"] = [*dependencies, {"pip": requirements}]
    return str(yaml.safe_dump(env, sort_keys=False, default_flow_style=False))


def _python_version(model_dir: Path, mlmodel: dict[str, Any]) -> str:
    flavor = (mlmodel.get("flavors") or {}).get("python_function") or {}
    if flavor.get("python_version"):
        return str(flavor["python_version"])
    env_file = model_dir / "python_env.yaml"
    if env_file.is_file() and _read_yaml(env_file).get("python"):
        return str(_read_yaml(env_file)["python"])
    return platform.python_version()


# -- the generated documents ----------------------------------------------------------------


def render_readme(
    filename: str,
    card: dict[str, Any],
    mlmodel: dict[str, Any],
    model_dir: Path,
    requirements: list[str],
) -> str:
    title = card.get("key") or card.get("name") or model_dir.name
    python = _python_version(model_dir, mlmodel)
    lines = [
        f"# {title}",
        "",
        *([str(card["description"]), ""] if card.get("description") else []),
        f"A self-contained model bundle made by ML Lab (flavor {card.get('flavor') or '?'}, "
        f"MLflow run `{card.get('run_id') or '?'}`). The model card is in `MODEL_CARD.md`, "
        "the lineage in `lineage.json`.",
        "",
        "## Run it",
        "",
        f"It needs Python {python} and the pinned packages of `requirements.txt` (nothing "
        "else: the serving code is inside the bundle).",
        "",
        "```sh",
        f"unzip -p {filename} requirements.txt > requirements.txt",
        "python -m venv .venv && . .venv/bin/activate && pip install -r requirements.txt",
        f"python {filename}                      # serve on http://127.0.0.1:5000",
        f"python {filename} serve --port 8080 --host 0.0.0.0",
        f"python {filename} predict input.csv    # one JSON prediction a line",
        f"python {filename} predict input.csv --output predictions.csv",
        f"python {filename} info                 # the model card",
        "```",
        "",
        "`conda env create -f conda.yaml` (after `unzip`) makes the same environment with conda.",
        "",
        "## Predict over HTTP",
        "",
        "The server speaks MLflow's scoring protocol (`POST /invocations` with "
        "`dataframe_split`, `dataframe_records`, `instances` or `inputs` JSON, or `text/csv`; "
        "`GET /ping`, `/health`, `/version`):",
        "",
        "```sh",
        *_curl_example(filename, model_dir, mlmodel),
        "```",
        "",
        "## Load it with MLflow",
        "",
        "```sh",
        f"python {filename} extract              # prints the extracted model folder",
        f"unzip {filename} 'model/*' -d {Path(filename).stem}   # or unzip it yourself",
        "```",
        "",
        "```python",
        "import mlflow",
        "",
        f'model = mlflow.pyfunc.load_model("{Path(filename).stem}/model")',
        "predictions = model.predict(frame)",
        "```",
        "",
        "## Signature",
        "",
        *_signature_tables(mlmodel),
        "## Input example",
        "",
        *_input_example(model_dir, mlmodel),
        "## Requirements",
        "",
        *[f"- `{line}`" for line in requirements],
        "",
    ]
    return "\n".join(lines)


def render_model_card(
    card: dict[str, Any], mlmodel: dict[str, Any], requirements: list[str]
) -> str:
    notebook = card.get("notebook")
    facts = [
        ("Model", card.get("key") or card.get("name")),
        ("Project", card.get("project")),
        ("Version", card.get("version")),
        ("Flavor", card.get("flavor")),
        ("MLflow run", card.get("run_id")),
        ("Created", _when(card.get("created"))),
        ("Created by", card.get("created_by")),
        ("Notebook", notebook),
        ("Notebook sha256", card.get("notebook_sha256")),
        ("Git commit", card.get("git_commit")),
        ("MLflow", mlmodel.get("mlflow_version")),
    ]
    datasets = card.get("datasets") or []
    lines = [
        f"# Model card: {card.get('key') or card.get('name')}",
        "",
        *([str(card["description"]), ""] if card.get("description") else []),
        *_table(("", ""), [(name, value) for name, value in facts if value not in (None, "")]),
        "## Metrics",
        "",
        *_mapping_table(card.get("metrics") or {}, ("Metric", "Value")),
        "## Parameters",
        "",
        *_mapping_table(card.get("params") or {}, ("Parameter", "Value")),
        "## Datasets",
        "",
        *(
            _table(
                ("Dataset version", "sha256"), [(d.get("key"), d.get("sha256")) for d in datasets]
            )
            if datasets
            else ["None recorded.", ""]
        ),
        "## Environment",
        "",
        *[f"- `{line}`" for line in requirements],
        "",
    ]
    return "\n".join(lines)


def _curl_example(filename: str, model_dir: Path, mlmodel: dict[str, Any]) -> list[str]:
    info = mlmodel.get("saved_input_example_info") or {}
    serving = model_dir / str(info.get("serving_input_path") or "serving_input_example.json")
    if not serving.is_file():
        return [
            "curl http://127.0.0.1:5000/invocations -H 'Content-Type: text/csv' "
            "--data-binary @input.csv"
        ]
    body = json.dumps(json.loads(serving.read_text()))
    head = "curl http://127.0.0.1:5000/invocations -H 'Content-Type: application/json'"
    if len(body) <= 400 and "'" not in body:
        return [f"{head} \\", f"  -d '{body}'"]
    return [
        f"unzip -p {filename} model/{serving.name} > request.json",
        f"{head} -d @request.json",
    ]


def _signature_tables(mlmodel: dict[str, Any]) -> list[str]:
    signature = mlmodel.get("signature") or {}
    if not signature.get("inputs"):
        return ["The model has no signature: its input is not checked.", ""]
    out: list[str] = []
    for part, title in (("inputs", "Inputs"), ("outputs", "Outputs")):
        specs = json.loads(signature[part]) if signature.get(part) else []
        rows = [(spec.get("name", ""), _spec_type(spec), _yes(spec)) for spec in specs]
        out += [f"{title}:", "", *_table(("Name", "Type", "Required"), rows or [("", "any", "")])]
    return out


def _spec_type(spec: dict[str, Any]) -> str:
    if spec.get("type") == "tensor":
        tensor = spec.get("tensor-spec") or {}
        return f"tensor {tensor.get('dtype')} {tuple(tensor.get('shape') or ())}"
    kind = spec.get("type")
    return kind if isinstance(kind, str) else json.dumps(kind)


def _yes(spec: dict[str, Any]) -> str:
    return "" if spec.get("type") == "tensor" else ("yes" if spec.get("required", True) else "no")


def _input_example(model_dir: Path, mlmodel: dict[str, Any], rows: int = 5) -> list[str]:
    info = mlmodel.get("saved_input_example_info") or {}
    path = model_dir / str(info.get("artifact_path") or "input_example.json")
    if not path.is_file():
        return ["None saved with the model.", ""]
    try:
        example = json.loads(path.read_text())
    except ValueError:
        return [f"In `model/{path.name}`.", ""]
    if isinstance(example, dict) and "columns" in example and "data" in example:
        data = example["data"][:rows]
        shown = (
            f" (the first {rows} of {len(example['data'])} rows)"
            if len(example["data"]) > rows
            else ""
        )
        return [f"From `model/{path.name}`{shown}:", "", *_table(tuple(example["columns"]), data)]
    text = json.dumps(example)
    text = text if len(text) <= 2000 else text[:2000] + " ..."
    return [f"From `model/{path.name}`:", "", "```json", text, "```", ""]


def _mapping_table(values: dict[str, Any], header: tuple[str, str]) -> list[str]:
    if not values:
        return ["None recorded.", ""]
    return _table(header, sorted(values.items()))


def _table(header: tuple[Any, ...], rows: Any) -> list[str]:
    def cell(value: Any) -> str:
        text = "" if value is None else str(value)
        return text.replace("|", "\\|").replace("\n", " ")

    out = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return [*out, ""]


def _when(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        stamp = value / 1000 if value > 1e11 else value  # MLflow's milliseconds, or seconds
        return datetime.datetime.fromtimestamp(stamp, datetime.timezone.utc).isoformat()
    return value


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


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    loaded = yaml.safe_load(path.read_text())
    return loaded if isinstance(loaded, dict) else {}


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
