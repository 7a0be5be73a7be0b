"""``deploy``, ``services``, ``undeploy``, ``predict`` (the lab's supervised services,
CONTRACT C3) and ``serve`` (a bundle's own server in the foreground, no lab needed)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from .errors import CLIError, UsageError
from .output import Bar, emit_json, table

SETTLED = ("running", "stopped", "failed")


def deploy(args: argparse.Namespace, backend: Any) -> int:
    body: dict[str, Any] = {"project": args.project or backend.current_project()}
    source = Path(args.model).expanduser()
    if args.model.endswith(".mlbundle") and source.is_file():
        body["bundle"] = backend.relative(str(source))
    else:
        body["model"] = args.model
    if args.name:
        body["name"] = args.name
    if args.port:
        body["port"] = args.port
    if args.workers:
        body["workers"] = args.workers
    if args.no_batching:
        body["batching"] = {"enabled": False}
    service = backend.deploy(body)
    if not args.no_wait:
        service = wait_ready(backend, service, args.progress, args.timeout_wait)
    if args.json:
        emit_json(service)
    else:
        _print_services([service])
    if service["status"] == "failed":
        for line in service.get("log_tail") or []:
            print(line, file=sys.stderr)
        return 1
    return 0


def wait_ready(
    backend: Any, service: dict[str, Any], progress: bool, timeout: float | None
) -> dict[str, Any]:
    bar = Bar(progress, None, f"deploy {service['name']}", unit="s")
    start = time.monotonic()
    try:
        while not (
            service["status"] in SETTLED and (service["ready"] or service["status"] != "running")
        ):
            if timeout is not None and time.monotonic() - start > timeout:
                raise CLIError(
                    f"{service['name']} is still {service['status']} after {timeout:.0f} s."
                )
            time.sleep(0.5)
            bar.set(round(time.monotonic() - start), note=service["status"])
            service = backend.service(service["name"])
    finally:
        bar.close()
    return service


def services(args: argparse.Namespace, backend: Any) -> int:
    rows = backend.services(args.project)
    if args.json:
        emit_json(rows)
    else:
        _print_services(rows)
    return 0


def _print_services(rows: list[dict[str, Any]]) -> None:
    table(
        [
            (s["name"], s["project"], s["status"], "yes" if s.get("ready") else "no",
             (s.get("model") or {}).get("key") or (s.get("source") or {}).get("bundle"),
             s.get("url"), s.get("requests"), s.get("p50_ms"))
            for s in rows
        ],
        ("SERVICE", "PROJECT", "STATUS", "READY", "MODEL", "URL", "REQUESTS", "P50 MS"),
    )  # fmt: skip


def undeploy(args: argparse.Namespace, backend: Any) -> int:
    backend.undeploy(args.service)
    emit_json({"name": args.service, "deleted": True}) if args.json else print(
        f"removed {args.service}"
    )
    return 0


def read_input(path: str) -> tuple[bytes, str]:
    """A request body and its type: ``.json`` files as JSON, others (and stdin, unless it
    starts like JSON) as CSV with a header row."""
    if path == "-":
        data = sys.stdin.buffer.read()
        looks_json = data.lstrip()[:1] in (b"{", b"[")
        return data, "application/json" if looks_json else "text/csv"
    source = Path(path).expanduser()
    if not source.is_file():
        raise UsageError(f"There is no file at {source}.")
    json_file = source.suffix.lower() == ".json"
    return source.read_bytes(), "application/json" if json_file else "text/csv"


def predict(args: argparse.Namespace, backend_for: Any) -> int:
    bundle = Path(args.service).expanduser()
    if bundle.suffix == ".mlbundle" and bundle.is_file():  # no lab needed: the bundle itself
        _exec([sys.executable, str(bundle), "predict", args.input])
    data, content_type = read_input(args.input)
    backend = backend_for()
    reply = backend.predict(args.service, data, content_type)
    if args.json:
        emit_json(reply)
        return 0
    predictions = reply.get("predictions", reply) if isinstance(reply, dict) else reply
    for value in predictions if isinstance(predictions, list) else [predictions]:
        print(json.dumps(value))
    return 0


def serve(args: argparse.Namespace) -> int:
    """The bundle's (or MLflow model folder's) own server, in this process's place:
    signals reach it directly and its exit status is this command's."""
    source = Path(args.bundle).expanduser()
    address = ["--host", args.host, "--port", str(args.port)]
    extra = [a for a in args.extra if a != "--"]
    if source.is_file():
        _exec([sys.executable, str(source), "serve", *address, *extra])
    if (source / "MLmodel").is_file():
        _exec([sys.executable, "-m", "jupyter_mllab.serve", str(source), *address, *extra])
    raise UsageError(f"{source} is neither a .mlbundle file nor an MLflow model folder.")


def _exec(argv: list[str]) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(argv[0], argv)
