"""The entry point of a model bundle (``python wine.mlbundle [serve|predict|info|extract]``).

A bundle (``jupyter_mllab/models/bundle.py``) is a zip: this package under a private name,
a two-line ``__main__.py`` that calls :func:`main` with the zip's path, and the MLflow
model under ``model/``. MLflow loads a model from a folder, so ``model/`` is extracted
once into a cache keyed by the bundle's sha256 (``--workdir``, ``$MLBUNDLE_CACHE``, or
``~/.cache/mlbundle``) and reused by every later start.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import zipfile
from pathlib import Path

from .cli import add_predict_options, add_serve_options, run_predict, run_serve
from .protocol import ProtocolError

MODEL_PREFIX = "model/"
CARD = "card.json"
MODEL_CARD = "MODEL_CARD.md"
_COMPLETE = ".complete"


def cache_root(workdir: str | None) -> Path:
    if workdir:
        return Path(workdir)
    if os.environ.get("MLBUNDLE_CACHE"):
        return Path(os.environ["MLBUNDLE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mlbundle"


def bundle_sha256(bundle: Path) -> str:
    digest = hashlib.sha256()
    with open(bundle, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def extract_model(bundle: Path, workdir: str | None = None) -> Path:
    """The folder of the bundle's MLflow model, extracted on first use (atomically)."""
    root = cache_root(workdir)
    target = root / bundle_sha256(bundle)
    if (target / _COMPLETE).is_file():
        return target / "model"
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".{target.name}.{os.getpid()}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        with zipfile.ZipFile(bundle) as archive:
            members = [name for name in archive.namelist() if name.startswith(MODEL_PREFIX)]
            archive.extractall(staging, members)  # zipfile strips '..' and absolute paths
        (staging / _COMPLETE).write_text("")
        try:
            os.replace(staging, target)
        except OSError:  # another start extracted it first
            if not (target / _COMPLETE).is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target / "model"


def read_member(bundle: Path, name: str) -> str:
    with zipfile.ZipFile(bundle) as archive:
        return archive.read(name).decode("utf-8")


def main(bundle_path: str, argv: list[str] | None = None) -> int:
    bundle = Path(bundle_path).resolve()
    card = json.loads(read_member(bundle, CARD))
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or (args[0].startswith("-") and args[0] not in ("-h", "--help")):
        args.insert(0, "serve")
    parser = argparse.ArgumentParser(
        prog=f"python {bundle.name}",
        description=f"Model bundle of {card.get('key') or card.get('name')}: serve it, predict "
        "with it, or read its card.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve", help="serve it: MLflow's scoring protocol and Open Inference (default)"
    )
    add_serve_options(serve)
    predict = commands.add_parser("predict", help="predict on a CSV (or JSON request) file")
    add_predict_options(predict)
    info = commands.add_parser("info", help="print the model card")
    info.add_argument("--json", action="store_true", help="card.json instead of MODEL_CARD.md")
    extract = commands.add_parser(
        "extract", help="extract the MLflow model folder and print its path (for mlflow)"
    )
    for sub in (serve, predict, extract):
        sub.add_argument("--workdir", help="where the model is extracted (~/.cache/mlbundle)")
    options = parser.parse_args(args)

    if options.command == "info":
        print(json.dumps(card, indent=2) if options.json else read_member(bundle, MODEL_CARD))
        return 0
    model_dir = extract_model(bundle, options.workdir)
    if options.command == "extract":
        print(model_dir)
        return 0
    if options.command == "predict":
        try:
            return run_predict(model_dir, options)
        except ProtocolError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 2
        except OSError as exc:  # no such input file, an output folder that is not there
            print(f"error: {exc}", file=sys.stderr)
            return 2
    return run_serve(
        model_dir,
        options,
        name=card.get("key") or card.get("name"),
        model_key=card.get("key"),
        run_id=card.get("run_id"),
    )
