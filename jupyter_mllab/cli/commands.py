"""``datasets``, ``run``, ``runs`` and ``models``: each a function of the parsed
arguments and a backend (``remote.Remote`` or ``direct.Direct``, the same methods)."""

from __future__ import annotations

import argparse
import ast
import contextlib
import time
from pathlib import Path
from typing import Any

from .errors import CLIError, UsageError
from .output import Bar, emit_json, size, table, when

TERMINAL = ("COMPLETED", "FAILED", "CANCELLED")
POLL = 0.5  # seconds between looks at a run that is waited for
CANCEL_WAIT = 15.0  # seconds a cancelled run has to end before the command exits anyway


def project_of(args: argparse.Namespace, backend: Any) -> str:
    return str(getattr(args, "project", None) or backend.current_project())


def split_key(key: str, default_project: str | None) -> tuple[str | None, str, str | None]:
    """``project/name@ref``, ``name@ref``, ``name`` -> (project, name, ref)."""
    ref_part, _, version = key.strip().partition("@")
    project, _, name = ref_part.rpartition("/")
    if not name or "/" in project:
        raise UsageError(f"'{key}' is not a key: keys look like project/name@3 or name@3.")
    return (project or default_project), name, (version or None)


# -- projects -----------------------------------------------------------------------------
def projects_list(args: argparse.Namespace, backend: Any) -> int:
    reply = backend.projects()
    if args.json:
        emit_json(reply)
        return 0
    table(
        [
            ("*" if p["name"] == reply["current"] else "", p["name"], p["counts"].get("datasets"),
             p["counts"].get("runs"), p["counts"].get("models"), p["description"])
            for p in reply["projects"]
        ],
        ("", "PROJECT", "DATASETS", "RUNS", "MODELS", "DESCRIPTION"),
    )  # fmt: skip
    return 0


def projects_create(args: argparse.Namespace, backend: Any) -> int:
    project = backend.create_project(args.name, args.description or "")
    if args.use:
        backend.use_project(project["name"])
    emit_json(project) if args.json else print(project["name"])
    return 0


def projects_use(args: argparse.Namespace, backend: Any) -> int:
    reply = backend.use_project(args.name)
    emit_json(reply) if args.json else print(reply["name"])
    return 0


# -- datasets -----------------------------------------------------------------------------
def datasets_list(args: argparse.Namespace, backend: Any) -> int:
    rows = backend.list_datasets(project_of(args, backend), args.search or "")
    if args.json:
        emit_json(rows)
        return 0
    table(
        [
            (r["latest"]["key"], r["versions"], r["latest"]["kind"], size(r["latest"]["size"]),
             r["latest"]["filename"], when(r["updated"]))
            for r in rows
        ],
        ("KEY", "VERSIONS", "KIND", "SIZE", "FILE", "UPDATED"),
    )  # fmt: skip
    return 0


def datasets_upload(args: argparse.Namespace, backend: Any) -> int:
    source = Path(args.path).expanduser()
    if not source.exists():
        raise UsageError(f"There is no file or folder at {source}.")
    project = project_of(args, backend)
    options: dict[str, Any] = {"name": args.name or _dataset_name(source)}
    if args.description:
        options["description"] = args.description
    if args.tag:
        options["tags"] = args.tag
    if args.extract:
        options["extract"] = True
    total = (
        source.stat().st_size
        if source.is_file()
        else sum(p.stat().st_size for p in source.rglob("*") if p.is_file() and not p.is_symlink())
    )
    bar = Bar(args.progress, total, f"upload {source.name}", unit="B")
    try:
        version = backend.upload_dataset(project, source, options, bar.update)
    finally:
        bar.close()
    if args.json:
        emit_json(version)
    else:
        print(version["key"])
    return 0


def _dataset_name(source: Path) -> str:
    """The file's name without its extensions (``wine.csv.gz`` -> ``wine``)."""
    name = source.name.split(".")[0] if not source.is_dir() else source.name
    return name or source.name


def datasets_get(args: argparse.Namespace, backend: Any) -> int:
    default = backend.current_project() if "/" not in args.key.partition("@")[0] else None
    project, name, version = split_key(args.key, default)
    assert project is not None
    detail = backend.dataset_version(project, name, version or "latest")
    if args.info:
        emit_json(detail) if args.json else _print_version(detail)
        return 0
    dest = Path(args.output or detail["filename"] or detail["name"]).expanduser()
    if detail["kind"] == "file" and dest.is_dir():
        dest = dest / detail["filename"]
    bar = Bar(args.progress, detail["size"], f"get {detail['key']}", unit="B")
    try:
        backend.download_dataset(detail, dest, bar.update)
    finally:
        bar.close()
    if args.json:
        emit_json({**detail, "path": str(dest.resolve())})
    else:
        print(dest)
    return 0


def _print_version(detail: dict[str, Any]) -> None:
    for field in ("key", "kind", "filename", "size", "sha256", "created", "author", "description"):
        print(f"{field}: {detail.get(field)}")
    for entry in detail.get("files") or []:
        print(f"  {entry['path']}  {size(entry['size'])}")


# -- run ----------------------------------------------------------------------------------
def parse_value(text: str) -> Any:
    """A parameter's value as Python reads a literal (``0.1``, ``[1, 2]``, ``'a'``);
    true/false/null as JSON spells them; anything else is a string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        pass
    return {"true": True, "false": False, "null": None, "none": None}.get(text.lower(), text)


def run_body(args: argparse.Namespace) -> dict[str, Any]:
    parameters: dict[str, Any] = {}
    for item in args.parameter or []:
        if len(item) < 2:
            raise UsageError(f"-p {item[0]}: give the parameter's value (or several values).")
        name, values = item[0], [parse_value(v) for v in item[1:]]
        parameters[name] = values[0] if len(values) == 1 else {"values": values}
    body: dict[str, Any] = {"parameters": parameters}
    if args.random:
        body["search"] = {"kind": "random", "trials": args.random}
        if args.seed is not None:
            body["search"]["seed"] = args.seed
    for option in ("project", "kernel", "timeout"):
        if getattr(args, option, None):
            body[option] = getattr(args, option)
    if args.tag:
        pairs = [t.partition("=") for t in args.tag]
        if any(not sep or not k for k, sep, _ in pairs):
            raise UsageError("--tag takes KEY=VALUE.")
        body["tags"] = {k: v for k, _, v in pairs}
    if args.dataset:
        body["datasets"] = args.dataset
    return body


def run(args: argparse.Namespace, backend: Any) -> int:
    notebook = Path(args.notebook).expanduser()
    if backend.kind == "home" and not notebook.is_file():
        raise UsageError(f"There is no notebook at {notebook}.")
    job = backend.submit(str(notebook), run_body(args))
    for warning in job.get("warnings") or []:
        print(f"warning: {warning}", file=_stderr())
    if not (args.wait or backend.kind == "home"):  # without a lab, this process runs it
        emit_json(job) if args.json else print(job["id"])
        return 0
    try:
        job = wait(backend, job, args.progress, args.timeout_wait)
    except KeyboardInterrupt:
        print(f"Cancelling {job['id']}...", file=_stderr())
        backend.cancel(job["id"])
        with contextlib.suppress(CLIError):  # until its kernel is gone (a few seconds)
            wait(backend, job, False, CANCEL_WAIT)
        raise
    if args.json:
        emit_json(job)
    else:
        _print_job(job)
    return 0 if job["status"] == "COMPLETED" else 1


def wait(
    backend: Any, job: dict[str, Any], progress: bool, timeout: float | None
) -> dict[str, Any]:
    """Until the run (or every run of the sweep) has ended: a bar of its cells, or of
    the sweep's runs."""
    sweep = job["kind"] == "sweep"
    total = len(job.get("children") or []) if sweep else None
    label = f"{'sweep' if sweep else 'run'} {job['id']}"
    bar = Bar(progress, total, label, unit="run" if sweep else "cell")
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while True:
            job = backend.job(job["id"])
            if sweep:
                counts = job.get("counts") or {}
                done = sum(counts.get(s, 0) for s in TERMINAL)
                note = f"{counts.get('FAILED', 0)} failed" if counts.get("FAILED") else None
                bar.set(done, total, note)
            elif job.get("progress"):
                p = job["progress"]
                bar.set(p["cells_done"], p["cells_total"], job["status"].lower())
            if job["status"] in TERMINAL:
                return job
            if deadline is not None and time.monotonic() > deadline:
                raise CLIError(f"{label} is still {job['status']} after {timeout:.0f} s.")
            backend.pause(POLL)
    finally:
        bar.close()


def _print_job(job: dict[str, Any]) -> None:
    runs = job.get("children") or [job]
    table(
        [
            (r["id"], r["status"], r.get("parameters") or {}, r.get("mlflow_run_id"),
             f"{r['duration']:.1f}s" if r.get("duration") is not None else "",
             (r.get("error") or {}).get("message", ""))
            for r in runs
        ],
        ("JOB", "STATUS", "PARAMETERS", "MLFLOW RUN", "TIME", "ERROR"),
    )  # fmt: skip
    if job["kind"] == "sweep":
        print(f"sweep {job['id']}: {job['status']}")


def _stderr() -> Any:
    import sys

    return sys.stderr


# -- runs ---------------------------------------------------------------------------------
def runs_list(args: argparse.Namespace, backend: Any) -> int:
    query = {
        "filter": args.filter,
        "order_by": args.order_by or [],
        "limit": args.limit,
        "status": args.status,
        "sweep": args.sweep,
        "notebook": args.notebook,
    }
    page = backend.runs(project_of(args, backend), {k: v for k, v in query.items() if v})
    if args.json:
        emit_json(page)
        return 0
    params, metrics = page["columns"]["params"], page["columns"]["metrics"]
    table(
        [
            (r["run_id"], r.get("name"), r["status"], *(r["params"].get(p) for p in params),
             *(r["metrics"].get(m) for m in metrics))
            for r in page["runs"]
        ],
        ("RUN", "NAME", "STATUS", *params, *metrics),
    )  # fmt: skip
    return 0


def runs_compare(args: argparse.Namespace, backend: Any) -> int:
    result = backend.compare(args.run_ids)
    if args.json:
        emit_json(result)
        return 0
    runs = result["runs"]
    rows: list[list[Any]] = [["name", *(r.get("name") for r in runs)]]
    for kind, differs in (("params", result["params"]), ("metrics", result["metrics"])):
        for key, different in differs.items():
            mark = "*" if different else " "
            rows.append([f"{mark} {kind[:-1]}.{key}", *(r[kind].get(key) for r in runs)])
    table(rows, ("", *(r["run_id"][:12] for r in runs)))
    return 0


# -- models -------------------------------------------------------------------------------
def models_list(args: argparse.Namespace, backend: Any) -> int:
    rows = backend.list_models(project_of(args, backend), args.search or "")
    if args.json:
        emit_json(rows)
        return 0
    table(
        [
            (m["key"], m["latest_version"], m["versions_count"],
             ",".join(f"{a}=v{v}" for a, v in sorted(m["aliases"].items())), when(m["updated"]))
            for m in rows
        ],
        ("MODEL", "LATEST", "VERSIONS", "ALIASES", "UPDATED"),
    )  # fmt: skip
    return 0


def _model(args: argparse.Namespace, backend: Any, ref: str) -> tuple[str, str, str | None]:
    default = args.project or (None if "/" in ref.partition("@")[0] else backend.current_project())
    project, name, version = split_key(ref, default)
    assert project is not None
    return project, name, version


def models_export(args: argparse.Namespace, backend: Any) -> int:
    project, name, version = _model(args, backend, args.model)
    detail = backend.model_version(project, name, version or _latest(backend, project, name))
    dest = Path(args.output or f"{name}-v{detail['version']}.mlbundle").expanduser()
    if dest.is_dir():
        dest = dest / f"{name}-v{detail['version']}.mlbundle"
    bar = Bar(args.progress, None, f"export {detail['key']}", unit="B")
    try:
        backend.export_model(project, name, str(detail["version"]), dest, bar.update)
    finally:
        bar.close()
    if args.json:
        emit_json({**detail, "path": str(dest.resolve())})
    else:
        print(dest)
    return 0


def _latest(backend: Any, project: str, name: str) -> str:
    for model in backend.list_models(project, name):
        if model["name"] == name and model["latest_version"]:
            return str(model["latest_version"])
    raise CLIError(f"There is no model '{name}' with a version in project '{project}'.")


def models_alias(args: argparse.Namespace, backend: Any) -> int:
    project, name, version = _model(args, backend, args.model)
    if args.delete:
        backend.delete_alias(project, name, args.alias)
        reply: dict[str, Any] = {"project": project, "name": name, "alias": args.alias}
        emit_json(reply) if args.json else print(f"removed {project}/{name}@{args.alias}")
        return 0
    if version is None or not version.isdigit():
        raise UsageError(f"Say which version gets the alias: {name}@3 {args.alias}.")
    detail = backend.set_alias(project, name, args.alias, int(version))
    if args.json:
        emit_json(detail)
    else:
        print(f"{project}/{name}@{args.alias} -> v{detail.get('version', version)}")
    return 0
