"""The documents of a model bundle: its README.md and MODEL_CARD.md (``bundle.py`` builds it).

Both are generated from the MLflow model folder (its MLmodel file: signature, input example,
MLflow version) and the card (``build_bundle``'s ``card``). Import-light, as bundle.py.
"""

from __future__ import annotations

import datetime
import json
import platform
from pathlib import Path
from typing import Any


def render_readme(
    filename: str,
    card: dict[str, Any],
    mlmodel: dict[str, Any],
    model_dir: Path,
    requirements: list[str],
) -> str:
    title = card.get("key") or card.get("name") or model_dir.name
    python = python_version(model_dir, mlmodel)
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
        "`GET /ping`, `/health`, `/version`) and the Open Inference Protocol (KServe V2: "
        "`POST /v2/models/<name>/infer`); `/openapi.json` describes it and `/docs` shows it:",
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


def python_version(model_dir: Path, mlmodel: dict[str, Any]) -> str:
    flavor = (mlmodel.get("flavors") or {}).get("python_function") or {}
    if flavor.get("python_version"):
        return str(flavor["python_version"])
    env_file = model_dir / "python_env.yaml"
    if env_file.is_file() and read_yaml(env_file).get("python"):
        return str(read_yaml(env_file)["python"])
    return platform.python_version()


def read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    loaded = yaml.safe_load(path.read_text())
    return loaded if isinstance(loaded, dict) else {}
