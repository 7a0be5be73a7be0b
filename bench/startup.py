"""Start-up cost of the extension: `jupyter lab` with and without jupyter_mllab, side by side.

Each round starts JupyterLab twice on a fresh root (with the extension, without it, in
alternating order), and times from the process start until GET /api/status answers and,
with the extension, until GET /mllab/api/projects answers too (the sidebar's first call).
It also times ``import jupyter_mllab`` in a fresh interpreter against a bare interpreter.
Beside the wall-clock figures it prints CPU time (the server process's own until it is
ready; the interpreter's): on a loaded machine wall time mostly measures the other load,
CPU time much less.

Last line (the issue's budgets: ``import jupyter_mllab`` at most 100 ms beyond Python's own
start, the extension at most 0.15 s added to the server's start):
startup: lab_ms=… lab_with_mllab_ms=… added_ms=… first_projects_ms=… kernel_import_ms=…
kernel_budget_ok=yes|no server_budget_ok=yes|no
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil

VENV_BIN = Path(sys.executable).parent
KERNEL_BUDGET_MS = 100.0  # `import jupyter_mllab` beyond a bare interpreter's start
SERVER_BUDGET_MS = 150.0  # the extension's share of the server's start


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.01)
    raise TimeoutError(url)


def start_lab(with_mllab: bool) -> tuple[float, float | None, float]:
    """Seconds to /api/status, (with the extension) to the first projects answer, and the
    server process's CPU seconds until /api/status answered."""
    root = Path(tempfile.mkdtemp(prefix="mllab-bench-"))
    port = free_port()
    config = root / "bench_config.py"
    config.write_text(f"c.ServerApp.jpserver_extensions = {{'jupyter_mllab': {with_mllab}}}\n")
    token = "bench"
    cmd = [
        str(VENV_BIN / "jupyter"),
        "lab",
        "--no-browser",
        f"--port={port}",
        "--ip=127.0.0.1",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        f"--config={config}",
        "--allow-root",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLLAB_", "MLFLOW_"))}
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/api/status?token={token}", t0 + 60)
        ready = time.monotonic() - t0
        cpu = psutil.Process(proc.pid).cpu_times()
        cpu_s = cpu.user + cpu.system
        projects = None
        if with_mllab:
            wait_for(f"{base}/mllab/api/projects?token={token}", t0 + 60)
            projects = time.monotonic() - t0
        return ready, projects, cpu_s
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            print(f"  (server with_mllab={with_mllab} ignored SIGTERM for 30 s; killed)")
            proc.kill()
            proc.wait()
        shutil.rmtree(root, ignore_errors=True)


def time_cmd(code: str, n: int) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds of ``python -c code``."""
    samples, cpus = [], []
    for _ in range(n):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        samples.append(time.perf_counter() - t)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return statistics.median(samples), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()

    without, with_, projects = [], [], []
    cpu_without, cpu_with = [], []
    for i in range(args.rounds):
        order = (True, False) if i % 2 else (False, True)
        for flag in order:
            ready, first, cpu_s = start_lab(flag)
            (with_ if flag else without).append(ready)
            (cpu_with if flag else cpu_without).append(cpu_s)
            if first is not None:
                projects.append(first)
        print(f"round {i + 1}: without={without[-1]:.3f}s with={with_[-1]:.3f}s", flush=True)

    bare, bare_cpu = time_cmd("pass", 15)
    imported, imported_cpu = time_cmd("import jupyter_mllab", 15)
    lab_ms = statistics.median(without) * 1000
    with_ms = statistics.median(with_) * 1000
    pairs = sorted((w - o) * 1000 for w, o in zip(with_, without, strict=True))
    print(f"per-round difference, ms: {', '.join(f'{d:.0f}' for d in pairs)}")
    first_ms = statistics.median(projects) * 1000
    added_ms = with_ms - lab_ms
    kernel_ms = (imported - bare) * 1000
    added_cpu_ms = (statistics.median(cpu_with) - statistics.median(cpu_without)) * 1000
    print(
        f"cpu: server_to_ready_ms={statistics.median(cpu_without) * 1000:.0f} "
        f"with_mllab_ms={statistics.median(cpu_with) * 1000:.0f} added_cpu_ms={added_cpu_ms:.0f} "
        f"kernel_import_cpu_ms={(imported_cpu - bare_cpu) * 1000:.1f}"
    )

    def ok(figure: float, budget: float) -> str:
        return "yes" if figure <= budget else "no"

    print(
        f"startup: lab_ms={lab_ms:.0f} lab_with_mllab_ms={with_ms:.0f} "
        f"added_ms={added_ms:.0f} first_projects_ms={first_ms:.0f} "
        f"kernel_import_ms={kernel_ms:.1f} "
        f"kernel_budget_ok={ok(kernel_ms, KERNEL_BUDGET_MS)} "
        f"server_budget_ok={ok(added_ms, SERVER_BUDGET_MS)}"
    )


if __name__ == "__main__":
    main()
