"""Monitoring: the server's CPU time spent sampling at 1 Hz over 60 s, against a bare
psutil loop sampling the same figures, in one run.

Three processes run side by side for the same window: a server with the sampler on, the
same server with it off (``--MLLabApp.monitor_interval=0``: what an idle server costs
anyway), and a bare loop of the same psutil calls once a second. Ours is the difference
of the two servers' CPU time; all figures are percent of one core.

Last line: monitor: ours_cpu_pct=… bare_psutil_cpu_pct=… ratio=…
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import psutil

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from sweep import Server  # noqa: E402

BARE = textwrap.dedent(
    """
    import os, sys, time, psutil
    seconds, path = float(sys.argv[1]), sys.argv[2]
    try:
        import pynvml
        pynvml.nvmlInit()
    except Exception:
        pynvml = None
    psutil.cpu_percent(percpu=True)
    start = time.process_time()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(1.0)
        psutil.cpu_percent(percpu=True); psutil.virtual_memory(); psutil.swap_memory()
        psutil.disk_io_counters(); psutil.net_io_counters(); psutil.disk_usage(path)
        os.getloadavg()
    print(time.process_time() - start)
    """
)


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    root_on = Path(tempfile.mkdtemp(prefix="mllab-bench-mon-"))
    root_off = Path(tempfile.mkdtemp(prefix="mllab-bench-mon-"))
    on = Server(root_on, 2)
    off = Server(root_off, 2, extra=["--MLLabApp.monitor_interval=0"])
    try:
        time.sleep(3)  # let both settle after start-up
        bare = subprocess.Popen(
            [sys.executable, "-c", BARE, str(args.seconds), str(root_on)],
            stdout=subprocess.PIPE,
            text=True,
        )
        before = cpu_seconds(on.proc.pid), cpu_seconds(off.proc.pid)
        out, _ = bare.communicate()
        after = cpu_seconds(on.proc.pid), cpu_seconds(off.proc.pid)
    finally:
        on.stop()
        off.stop()
        shutil.rmtree(root_on, ignore_errors=True)
        shutil.rmtree(root_off, ignore_errors=True)
    window = args.seconds
    server_on = (after[0] - before[0]) / window * 100
    server_off = (after[1] - before[1]) / window * 100
    ours = max(server_on - server_off, 0.0)
    bare_pct = float(out.strip()) / window * 100
    print(f"server with sampler: {server_on:.2f}% of a core; without: {server_off:.2f}%")
    print(
        f"monitor: ours_cpu_pct={ours:.2f} bare_psutil_cpu_pct={bare_pct:.2f} "
        f"ratio={ours / bare_pct if bare_pct else float('inf'):.2f}"
    )


if __name__ == "__main__":
    main()
