"""Command lines: ``python -m jupyter_mllab.serve MODEL_DIR`` and predicting from a file.

Shared by ``__main__.py`` and a bundle's entry point (``bundle_main.py``), so that a
bundle's ``serve`` and ``predict`` take the same options as the module does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from .model import LoadedModel
from .protocol import CONTENT_TYPE_CSV, CONTENT_TYPE_JSON, jsonable, parse_request
from .server import DEFAULT_GRACE_SECONDS, DEFAULT_MAX_BODY_BYTES, serve


def add_serve_options(parser: argparse.ArgumentParser, *, port: int = 5000) -> None:
    """The options of CONTRACT C1 (the lab's supervisor starts the service with them)."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=port, help=f"port ({port}; 0: a free one)")
    parser.add_argument(
        "--fd", type=int, help="serve this inherited, already listening socket instead"
    )
    parser.add_argument(
        "--ready-file", help="write JSON {pid, url, model, ready_at} here once ready (atomically)"
    )
    parser.add_argument("--name", help="the model's name in /v2/models/<name> and the ready line")
    parser.add_argument("--model-key", help="lineage: the X-MLLab-Model header (demo/wine@3)")
    parser.add_argument("--run-id", help="lineage: the X-MLLab-Run header")
    parser.add_argument("--workers", type=int, default=1, help="predict threads (1)")
    parser.add_argument(
        "--batch-max-rows", type=int, default=64, help="rows predicted in one call at most (64)"
    )
    parser.add_argument(
        "--batch-window-ms",
        type=float,
        default=2.0,
        help="how long a batch waits for requests on their way (2 ms)",
    )
    parser.add_argument(
        "--no-batching", action="store_true", help="predict each request on its own"
    )
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=DEFAULT_MAX_BODY_BYTES,
        help=f"largest request body accepted, larger get 413 ({DEFAULT_MAX_BODY_BYTES})",
    )
    parser.add_argument(
        "--grace-seconds",
        type=float,
        default=DEFAULT_GRACE_SECONDS,
        help="on SIGTERM, how long requests in flight may take to finish (10)",
    )
    parser.add_argument("--access-log", action="store_true", help="log each request to stderr")
    parser.add_argument(
        "--recent-requests", type=int, default=100, help="requests /mllab/stats lists (100)"
    )


def run_serve(
    model_dir: str | Path,
    options: argparse.Namespace,
    name: str | None = None,
    *,
    model_key: str | None = None,
    run_id: str | None = None,
) -> int:
    return serve(
        model_dir,
        host=options.host,
        port=options.port,
        fd=options.fd,
        ready_file=options.ready_file,
        name=options.name or name,
        model_key=options.model_key or model_key,
        run_id=options.run_id or run_id,
        workers=options.workers,
        batching=not options.no_batching,
        batch_max_rows=options.batch_max_rows,
        batch_window_ms=options.batch_window_ms,
        max_body_bytes=options.max_body_bytes,
        grace_seconds=options.grace_seconds,
        access_log=options.access_log,
        recent_requests=options.recent_requests,
    )


def serve_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m jupyter_mllab.serve",
        description="Serve an MLflow model folder: MLflow's scoring protocol and the Open "
        "Inference Protocol (KServe V2), an OpenAPI document and API page, metrics.",
    )
    parser.add_argument("model_dir", help="a local MLflow model folder (with its MLmodel file)")
    add_serve_options(parser)
    options = parser.parse_args(argv)
    if not (Path(options.model_dir) / "MLmodel").is_file():
        parser.error(f"{options.model_dir} is not an MLflow model folder (no MLmodel file)")
    return run_serve(options.model_dir, options)


def add_predict_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "input", help="a CSV file with a header row, or a JSON scoring request ('-': stdin CSV)"
    )
    parser.add_argument(
        "--output",
        "-o",
        help="write here instead of stdout: a .csv file gets a CSV table, others JSON lines",
    )


def run_predict(model_dir: str | Path, options: argparse.Namespace) -> int:
    """Predict on a file; predictions as JSON lines (one per row) or a CSV table."""
    if options.input == "-":
        body, media = sys.stdin.buffer.read(), CONTENT_TYPE_CSV
    else:
        source = Path(options.input)
        body = source.read_bytes()  # before the model's load: a wrong path fails at once
        media = CONTENT_TYPE_JSON if source.suffix.lower() == ".json" else CONTENT_TYPE_CSV
    model = LoadedModel.load(model_dir)
    data, params = parse_request(body, media, model.spec)
    predictions = model.predict(data, params)
    if options.output is None:
        write_json_lines(predictions, sys.stdout)
    elif options.output.lower().endswith(".csv"):
        write_csv(predictions, options.output)
    else:
        with open(options.output, "w", encoding="utf-8") as out:
            write_json_lines(predictions, out)
    return 0


def write_json_lines(predictions: Any, out: TextIO) -> None:
    from .protocol import dumps

    values = jsonable(predictions)
    for value in values if isinstance(values, list) else [values]:
        out.write(dumps(value).decode("utf-8") + "\n")
    out.flush()


def write_csv(predictions: Any, path: str) -> None:
    import pandas as pd

    frame = predictions if isinstance(predictions, pd.DataFrame) else None
    if frame is None:
        series = pd.Series(list(jsonable(predictions)), name="prediction")
        frame = series.to_frame()
    frame.to_csv(path, index=False)
