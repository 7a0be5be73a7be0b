"""What ``%mllab`` shows: tables of jobs, runs and the machine (HTML in notebooks)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import client


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


def job_rows(jobs: list[dict[str, Any]]) -> Table:
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


def output_rows(files: list[dict[str, Any]]) -> Table:
    """A run's output files: saved ones with their local copy (--dest), skipped ones with
    why."""
    rows = [
        [
            f["path"],
            size(f["size"]),
            "saved" if f["saved"] else f"skipped: {f.get('reason', '')}",
            f.get("local_path", ""),
        ]
        for f in files
    ]
    return Table(["path", "size", "saved", "local path"], rows)


def runs_rows(page: dict[str, Any], most: int = 5) -> Table:
    """A page of the runs table: the first parameters and metrics as columns."""
    import datetime

    params = page["columns"]["params"][:most]
    metrics = [m for m in page["columns"]["metrics"] if not m.startswith("system/")][:most]
    rows = []
    for run in page["runs"]:
        started = (
            datetime.datetime.fromtimestamp(run["start_time"] / 1000).strftime("%Y-%m-%d %H:%M")
            if run["start_time"]
            else ""
        )
        took = f"{run['duration']:.1f} s" if run["duration"] is not None else ""
        values = [run["params"].get(p, "") for p in params]
        values += [_number(run["metrics"].get(m)) for m in metrics]
        rows.append([run["run_id"][:8], run["name"] or "", run["status"], started, took, *values])
    table = Table(["run", "name", "status", "started", "took", *params, *metrics], rows)
    shown = len(page["runs"])
    total = page["total"] if page["total"] is not None else shown
    print(f"{shown} of {total} runs of project '{page['project']}'")
    return table


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def monitor_table() -> Table:
    """A snapshot of the machine (two samples half a second apart, for the rates)."""
    import time

    from .monitor.probe import Probe, cgroup_limits

    home = client.home()
    probe = Probe(home if home.exists() else Path.cwd())
    probe.sample()
    time.sleep(0.5)
    p = probe.sample()
    rows = [
        [
            "CPU",
            f"{p['cpu_percent']:.0f}% of {len(p['cpu_per_core'])} cores "
            f"({', '.join(f'{c:.0f}' for c in p['cpu_per_core'])})",
        ],
        ["load", " ".join(str(x) for x in p["load"])],
        ["memory", f"{size(p['memory_used_bytes'])} of {size(p['memory_total_bytes'])}"],
        ["swap", f"{size(p['swap_used_bytes'])} of {size(p['swap_total_bytes'])}"],
        ["disk (lab home)", f"{size(p['disk_used_bytes'])} of {size(p['disk_total_bytes'])}"],
        [
            "disk I/O",
            f"read {size(int(p['disk_read_bps']))}/s, write {size(int(p['disk_write_bps']))}/s",
        ],
        ["network", f"in {size(int(p['net_recv_bps']))}/s, out {size(int(p['net_sent_bps']))}/s"],
    ]
    limits = cgroup_limits()
    if limits["cpus"] or limits["memory_bytes"]:
        cpus = f"{limits['cpus']:g} CPUs" if limits["cpus"] else "no CPU limit"
        mem = size(int(limits["memory_bytes"])) if limits["memory_bytes"] else "no memory limit"
        rows.append(["container", f"{cpus}, {mem}"])
    for gpu in p["gpus"]:
        rows.append(
            [
                f"GPU {gpu['index']}",
                f"{gpu.get('name', '')}: {gpu.get('utilization_percent', 0):.0f}%, "
                f"{size(gpu.get('memory_used_bytes', 0))} of "
                f"{size(gpu.get('memory_total_bytes', 0))}, "
                f"{gpu.get('temperature_c', 0):.0f} °C, {gpu.get('power_w', 0):.0f} W",
            ]
        )
    if not p["gpus"]:
        rows.append(["GPU", "none"])
    return Table(["", "now"], rows)


def size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
