"""Sweeps: a grid of 40 runs of a small notebook at concurrency 2, in one run on one machine:
- ours: POST /mllab/api/jobs with a 40-value grid to a running server
  (``max_concurrent_runs=2``), until the sweep has ended; every run is also an MLflow run
  with its parameters, environment, output notebook and resource summary;
- the ``papermill`` CLI, two processes at a time;
- papermill's in-process ``execute_notebook`` in a two-process pool.

Each side gets one warm-up first (our workers start at the first job; the pool's processes
import papermill at their first task), so that all three are measured in their steady state.

Last line:
sweep: ours_runs_per_min=… papermill_cli_runs_per_min=… papermill_pool_runs_per_min=…
       ratio_vs_cli=… ratio_vs_pool=…   (on one line)
"""

from __future__ import annotations

import argparse
import concurrent.futures
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from labserver import LabServer  # noqa: E402

PARAMS = "alpha = 0.5  # a parameter\nseed = 0"
CELLS = [
    "import math, random\nrandom.seed(seed)\nxs = [random.random() for _ in range(2000)]",
    "score = alpha * sum(math.sqrt(x) for x in xs) / len(xs)\nprint('score', score)",
    "score",
]


def make_notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    first = nbformat.v4.new_code_cell(PARAMS)
    first.metadata["tags"] = ["parameters"]
    nb.cells = [first, *(nbformat.v4.new_code_cell(c) for c in CELLS)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.write(nb, path)
    return path


class Server(LabServer):
    def __init__(self, root: Path, concurrency: int, extra: list[str] | None = None) -> None:
        super().__init__(root, [f"--MLLabApp.max_concurrent_runs={concurrency}", *(extra or [])])

    def sweep(self, values: list[float]) -> dict:
        job = self.call(
            "POST",
            "/mllab/api/jobs",
            {"notebook": "small.ipynb", "parameters": {"alpha": {"values": values}}},
        )
        while job["status"] not in ("COMPLETED", "FAILED", "CANCELLED"):
            time.sleep(0.05)
            job = self.call("GET", f"/mllab/api/jobs/{job['id']}")
        if job["status"] != "COMPLETED":
            errors = {c["error"]["message"] for c in job.get("children", []) if c.get("error")}
            raise RuntimeError(f"sweep ended {job['status']}: {job.get('counts')} {errors}")
        return job


def run_cli(nb: Path, out: Path, alpha: float) -> None:
    subprocess.run(
        [
            str(Path(sys.executable).parent / "papermill"),
            str(nb),
            str(out),
            "-p",
            "alpha",
            str(alpha),
            "--no-progress-bar",
            "-k",
            "python3",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def run_inprocess(args: tuple[str, str, float]) -> None:
    import papermill

    nb, out, alpha = args
    papermill.execute_notebook(
        nb, out, parameters={"alpha": alpha}, progress_bar=False, kernel_name="python3"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()
    n, k = args.runs, args.concurrency
    values = [round(0.01 * (i + 1), 2) for i in range(n)]

    root = Path(tempfile.mkdtemp(prefix="mllab-bench-sweep-"))
    nb = make_notebook(root / "small.ipynb")
    outs = root / "outputs"
    outs.mkdir()
    try:
        # ours
        server = Server(root, k)
        try:
            server.sweep([0.001] * k)  # warm-up: starts the workers
            t = time.perf_counter()
            job = server.sweep(values)
            ours = time.perf_counter() - t
            assert job["counts"]["COMPLETED"] == n
        finally:
            server.stop()
        print(f"ours: {n} runs in {ours:.1f} s", flush=True)

        # papermill CLI, k at a time
        run_cli(nb, outs / "warm.ipynb", 0.001)
        t = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(k) as pool:
            list(pool.map(lambda a: run_cli(nb, outs / f"cli-{a}.ipynb", a), values))
        cli = time.perf_counter() - t
        print(f"papermill CLI: {n} runs in {cli:.1f} s", flush=True)

        # papermill in-process API in a k-process pool
        with concurrent.futures.ProcessPoolExecutor(k) as pool:
            list(
                pool.map(
                    run_inprocess, [(str(nb), str(outs / f"w{i}.ipynb"), 0.001) for i in range(k)]
                )
            )
            t = time.perf_counter()
            list(
                pool.map(
                    run_inprocess, [(str(nb), str(outs / f"pool-{a}.ipynb"), a) for a in values]
                )
            )
            pool_s = time.perf_counter() - t
        print(f"papermill pool: {n} runs in {pool_s:.1f} s", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    ours_rpm, cli_rpm, pool_rpm = (60 * n / s for s in (ours, cli, pool_s))
    print(
        f"sweep: ours_runs_per_min={ours_rpm:.0f} papermill_cli_runs_per_min={cli_rpm:.0f} "
        f"papermill_pool_runs_per_min={pool_rpm:.0f} ratio_vs_cli={ours_rpm / cli_rpm:.2f} "
        f"ratio_vs_pool={ours_rpm / pool_rpm:.2f}"
    )


if __name__ == "__main__":
    main()
