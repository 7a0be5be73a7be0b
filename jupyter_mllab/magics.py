"""``%mllab``: the lab from a notebook cell, built on the kernel client."""

from __future__ import annotations

import argparse
import html
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class

from . import client
from .errors import MLLabError

USAGE = """%mllab info                      where this kernel's lab lives
%mllab projects                  the lab's projects (* marks the current one)
%mllab projects create NAME [-d DESCRIPTION]
%mllab use NAME                  work in project NAME in this kernel
%mllab dataset list [SEARCH]     datasets of the current project
%mllab dataset info KEY          what a key (project/name@3) names
%mllab dataset get KEY           a local path for the version
%mllab dataset upload PATH [--name N] [-d DESCRIPTION] [--tag T ...] [--extract]
%mllab run NOTEBOOK [-p NAME VALUE [VALUE ...]] ... [--random N [--seed S]] [--timeout S]
           [--gpus N] [--wait]     a tracked run; several values make a grid (a sweep)
%mllab jobs [--status S]         recent runs and sweeps of the current project
%mllab cancel ID                 cancel a run or a sweep
%mllab monitor                   CPU, memory, disk, network and GPUs now"""


class Table:
    """Rows shown as an HTML table in notebooks and as aligned text elsewhere."""

    def __init__(self, columns: Sequence[str], rows: Sequence[Sequence[Any]]):
        self.columns = list(columns)
        self.rows = [["" if v is None else str(v) for v in row] for row in rows]

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>"
            for row in self.rows
        )
        return f'<table class="jp-mllab-table"><tr>{head}</tr>{body}</table>'

    def __repr__(self) -> str:
        widths = [
            max([len(c)] + [len(r[i]) for r in self.rows]) for i, c in enumerate(self.columns)
        ]
        lines = ["  ".join(c.ljust(w) for c, w in zip(self.columns, widths, strict=True))]
        lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in self.rows]
        return "\n".join(line.rstrip() for line in lines)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        raise UsageError(f"{message}\n\nUsage:\n{USAGE}")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="%mllab", add_help=False)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("info", add_help=False)
    projects = sub.add_parser("projects", add_help=False)
    projects.add_argument("action", nargs="?", choices=["list", "create"], default="list")
    projects.add_argument("name", nargs="?")
    projects.add_argument("-d", "--description", default="")
    use = sub.add_parser("use", add_help=False)
    use.add_argument("name")
    dataset = sub.add_parser("dataset", add_help=False)
    dataset.add_argument("action", choices=["list", "info", "get", "upload"])
    dataset.add_argument("target", nargs="?", default="")
    dataset.add_argument("--name", default=None)
    dataset.add_argument("-d", "--description", default="")
    dataset.add_argument("--tag", action="append", default=[])
    dataset.add_argument("--extract", action="store_true")
    run = sub.add_parser("run", add_help=False)
    run.add_argument("notebook")
    run.add_argument("-p", "--param", nargs="+", action="append", default=[])
    run.add_argument("--random", type=int, default=None)
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--timeout", type=float, default=None)
    run.add_argument("--gpus", type=int, default=0)
    run.add_argument("--wait", action="store_true")
    jobs = sub.add_parser("jobs", add_help=False)
    jobs.add_argument("--status", default=None)
    jobs.add_argument("--limit", type=int, default=20)
    cancel = sub.add_parser("cancel", add_help=False)
    cancel.add_argument("id")
    sub.add_parser("monitor", add_help=False)
    return parser


def _run_parameters(pairs: list[list[str]]) -> dict[str, Any]:
    """``-p lr 0.1 0.01`` -> ``{"lr": {"values": [0.1, 0.01]}}``; one value stays one."""
    from .runs.params import parse_cli_value

    out: dict[str, Any] = {}
    for pair in pairs:
        if len(pair) < 2:
            raise UsageError(f"-p {pair[0]} needs a value: -p NAME VALUE [VALUE ...]")
        values = [parse_cli_value(v) for v in pair[1:]]
        out[pair[0]] = values[0] if len(values) == 1 else {"values": values}
    return out


def _wait_with_progress(jobs: Any, job_id: str) -> dict[str, Any]:
    """Wait for a run or a sweep, saying on one line how far it is."""
    import sys
    import time

    shown = ""
    while True:
        job = jobs.get_job(job_id)
        runs = job["children"] or [job]
        counts = {
            s: sum(1 for r in runs if r["status"] == s)
            for s in ("COMPLETED", "FAILED", "CANCELLED", "RUNNING", "QUEUED")
        }
        done = counts["COMPLETED"] + counts["FAILED"] + counts["CANCELLED"]
        line = f"{done}/{len(runs)} done" + "".join(
            f", {n} {s.lower()}" for s, n in counts.items() if n and s != "COMPLETED"
        )
        if line != shown:
            sys.stdout.write(f"\r{line}   ")
            sys.stdout.flush()
            shown = line
        if job["status"] in jobs.TERMINAL:
            sys.stdout.write("\n")
            return job
        time.sleep(0.5)


def _job_rows(jobs: list[dict[str, Any]]) -> Table:
    def params(job: dict[str, Any]) -> str:
        return ", ".join(f"{k}={v}" for k, v in (job["parameters"] or {}).items())

    rows = []
    for job in jobs:
        took = f"{job['duration']:.1f} s" if job["duration"] is not None else ""
        error = (job["error"] or {}).get("message", "")
        rows.append(
            [
                job["id"],
                job["kind"],
                job["status"],
                job["notebook"].rsplit("/", 1)[-1],
                params(job),
                took,
                error,
            ]
        )
        for child in job.get("children", []):
            c_took = f"{child['duration']:.1f} s" if child["duration"] is not None else ""
            rows.append(
                [
                    "  " + child["id"],
                    "",
                    child["status"],
                    "",
                    params(child),
                    c_took,
                    (child["error"] or {}).get("message", ""),
                ]
            )
    return Table(["id", "kind", "status", "notebook", "parameters", "took", "error"], rows)


@magics_class
class MLLabMagics(Magics):
    @line_magic
    def mllab(self, line: str) -> Any:
        """The ML Lab from a cell: see ``%mllab`` with no arguments for the commands."""
        args = _parser().parse_args(shlex.split(line))
        try:
            return self._dispatch(args)
        except MLLabError as exc:
            raise UsageError(exc.message) from None
        except (OSError, ValueError) as exc:
            raise UsageError(str(exc)) from None

    def _dispatch(self, args: argparse.Namespace) -> Any:
        if args.command == "info":
            data = client.info()
            return Table(["", ""], [[k, v] for k, v in data.items()])
        if args.command == "projects":
            if args.action == "create":
                if not args.name:
                    raise UsageError("Usage: %mllab projects create NAME [-d DESCRIPTION]")
                created = client.create_project(args.name, args.description)
                print(f"Created project '{created['name']}'.")
            current = client.current_project()
            return Table(
                ["", "project", "description", "created"],
                [
                    ["*" if p["name"] == current else "", p["name"], p["description"], p["created"]]
                    for p in client.list_projects()
                ],
            )
        if args.command == "dataset":
            return self._dataset(args)
        if args.command in ("run", "jobs", "cancel"):
            return self._jobs(args)
        if args.command == "monitor":
            return _monitor_table()
        if args.command == "use":
            name = client.set_project(args.name)
            print(f"This kernel now works in project '{name}'.")
            return None
        print(USAGE)
        return None

    def _jobs(self, args: argparse.Namespace) -> Any:
        from .client import jobs

        if args.command == "jobs":
            return _job_rows(jobs.list_jobs(status=args.status, limit=args.limit))
        if args.command == "cancel":
            job = jobs.cancel_job(args.id)
            print(f"Job {job['id']}: {job['status']}")
            return None
        search = (
            {"kind": "random", "trials": args.random, "seed": args.seed} if args.random else None
        )
        job = jobs.run_notebook(
            args.notebook,
            _run_parameters(args.param),
            search=search,
            timeout=args.timeout,
            gpus=args.gpus,
        )
        runs = len(job["children"]) or 1
        print(f"Queued {job['kind']} {job['id']} ({runs} run{'s' if runs > 1 else ''}).")
        if not args.wait:
            return job["id"]
        job = _wait_with_progress(jobs, job["id"])
        return _job_rows([job])

    def _dataset(self, args: argparse.Namespace) -> Any:
        from .client import datasets

        if args.action == "list":
            rows = datasets.list_datasets(search=args.target)
            return Table(
                ["key", "versions", "size", "type", "updated"],
                [
                    [
                        r["latest"]["key"],
                        r["versions"],
                        _size(r["latest"]["size"]),
                        r["latest"]["media_type"],
                        r["updated"],
                    ]
                    for r in rows
                ],
            )
        if not args.target:
            raise UsageError(f"%mllab dataset {args.action} needs a key or a path.")
        if args.action == "info":
            data = datasets.dataset_info(args.target)
            return Table(["", ""], [[k, v] for k, v in data.items()])
        if args.action == "get":
            return datasets.get_dataset(args.target)
        version = datasets.upload_dataset(
            args.target,
            name=args.name,
            description=args.description,
            tags=args.tag,
            extract=args.extract,
        )
        print(
            f"Uploaded {version['key']} ({_size(version['size'])}, sha256 {version['sha256'][:12]})"
        )
        return version["key"]


def _monitor_table() -> Table:
    """A snapshot of the machine (two samples half a second apart, for the rates)."""
    import time

    from .monitor.sampler import Sampler, cgroup_limits

    home = client.home()
    sampler = Sampler(home if home.exists() else Path.cwd())
    sampler.sample()
    time.sleep(0.5)
    p = sampler.sample()
    rows = [
        [
            "CPU",
            f"{p['cpu_percent']:.0f}% of {len(p['cpu_per_core'])} cores "
            f"({', '.join(f'{c:.0f}' for c in p['cpu_per_core'])})",
        ],
        ["load", " ".join(str(x) for x in p["load"])],
        ["memory", f"{_size(p['memory_used_bytes'])} of {_size(p['memory_total_bytes'])}"],
        ["swap", f"{_size(p['swap_used_bytes'])} of {_size(p['swap_total_bytes'])}"],
        ["disk (lab home)", f"{_size(p['disk_used_bytes'])} of {_size(p['disk_total_bytes'])}"],
        [
            "disk I/O",
            f"read {_size(int(p['disk_read_bps']))}/s, write {_size(int(p['disk_write_bps']))}/s",
        ],
        ["network", f"in {_size(int(p['net_recv_bps']))}/s, out {_size(int(p['net_sent_bps']))}/s"],
    ]
    limits = cgroup_limits()
    if limits["cpus"] or limits["memory_bytes"]:
        cpus = f"{limits['cpus']:g} CPUs" if limits["cpus"] else "no CPU limit"
        mem = _size(int(limits["memory_bytes"])) if limits["memory_bytes"] else "no memory limit"
        rows.append(["container", f"{cpus}, {mem}"])
    for gpu in p["gpus"]:
        rows.append(
            [
                f"GPU {gpu['index']}",
                f"{gpu.get('name', '')}: {gpu.get('utilization_percent', 0):.0f}%, "
                f"{_size(gpu.get('memory_used_bytes', 0))} of "
                f"{_size(gpu.get('memory_total_bytes', 0))}, "
                f"{gpu.get('temperature_c', 0):.0f} °C, {gpu.get('power_w', 0):.0f} W",
            ]
        )
    if not p["gpus"]:
        rows.append(["GPU", "none"])
    return Table(["", "now"], rows)


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
