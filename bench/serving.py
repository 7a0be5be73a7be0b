"""Model serving: our service beside `mlflow models serve` and MLServer, in one run.

One scikit-learn ElasticNet, fitted on an 11-column wine-like frame, is served three ways
in turn, each on 127.0.0.1 with its defaults:

- ours: ``python -m jupyter_mllab.serve MODEL_DIR`` (micro-batching on, 1 predict thread);
- MLflow: ``mlflow models serve -m MODEL_DIR --env-manager local``;
- MLServer 1.7.1 with mlserver-sklearn (the Open Inference Protocol's reference server),
  adaptive batching on (max_batch_size 64, max_batch_time 2 ms), from a separate venv this
  script makes once under ``bench/.venv-mlserver`` (git-ignored) and reuses.

For each: the time from the process start until its health endpoint answers 200 (the
model loaded); then sequential latency (p50/p99 over ``--requests`` requests on one
keep-alive connection); then throughput with 8 keep-alive connections for ``--seconds``.
The payload is one row as ``dataframe_split`` (MLflow's protocol) for ours and MLflow, and
the same row as one FP64 tensor [1, 11] in a V2 infer request for MLServer. One small
asyncio HTTP/1.1 client (raw sockets, keep-alive) drives all three.

Last line:
serving: ours_rps=… mlflow_rps=… mlserver_rps=… rps_ratio=… rps_ratio_vs_mlserver=…
ours_p50_ms=… mlflow_p50_ms=… p50_ratio=… ours_ready_s=… mlflow_ready_s=… ready_ratio=…
(goals: rps_ratio >= 4, rps_ratio_vs_mlserver >= 1.5, p50_ratio <= 0.5, ready_ratio <= 0.5)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / ".fixtures" / "serving"
MLSERVER_VENV = HERE / ".venv-mlserver"
MLSERVER_VERSION = "1.7.1"
VENV_BIN = Path(sys.executable).parent
COLUMNS = [
    "fixed acidity",
    "volatile acidity",
    "citric acid",
    "residual sugar",
    "chlorides",
    "free sulfur dioxide",
    "total sulfur dioxide",
    "density",
    "pH",
    "sulphates",
    "alcohol",
]
CONNECTIONS = 8


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- the model ------------------------------------------------------------------------------


def make_model(root: Path) -> tuple[Path, Path, list[float]]:
    """(the MLflow model folder, the joblib file for MLServer, one row) for an ElasticNet."""
    import joblib
    import mlflow
    import mlflow.sklearn
    import numpy as np
    import pandas as pd
    import sklearn
    from mlflow.models import infer_signature
    from sklearn.linear_model import ElasticNet

    rng = np.random.default_rng(14)
    frame = pd.DataFrame(rng.normal(size=(2000, len(COLUMNS))), columns=COLUMNS)
    target = frame.to_numpy() @ rng.normal(size=len(COLUMNS)) + rng.normal(size=len(frame))
    model = ElasticNet(alpha=0.1, l1_ratio=0.5).fit(frame, target)
    model_dir = root / "wine-elasticnet"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    mlflow.sklearn.save_model(
        model,
        str(model_dir),
        serialization_format="cloudpickle",
        signature=infer_signature(frame, model.predict(frame)),
        input_example=frame.head(2),
        pip_requirements=[f"mlflow=={mlflow.__version__}", f"scikit-learn=={sklearn.__version__}"],
    )
    joblib_path = root / "mlserver" / "model.joblib"
    joblib_path.parent.mkdir()
    joblib.dump(model, joblib_path)
    return model_dir, joblib_path, [round(float(v), 6) for v in frame.iloc[0]]


def mlserver_python() -> Path:
    """The MLServer venv's interpreter, made on first use (needs PyPI once)."""
    import sklearn

    python = MLSERVER_VENV / "bin" / "python"
    if not (MLSERVER_VENV / "bin" / "mlserver").exists():
        print("making the MLServer venv (once) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(MLSERVER_VENV)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "-q",
                f"mlserver=={MLSERVER_VERSION}",
                f"mlserver-sklearn=={MLSERVER_VERSION}",
                f"scikit-learn=={sklearn.__version__}",  # the same pickle format as ours
            ],
            check=True,
        )
    return python


def mlserver_folder(joblib_path: Path, port: int) -> Path:
    folder = joblib_path.parent
    settings = {
        "http_port": port,
        "grpc_port": free_port(),
        "metrics_port": free_port(),
        "host": "127.0.0.1",
        "debug": False,
        # Inference in the server process: MLServer 1.7.1's worker processes fail on the
        # uvloop release pip picks today (no event loop in the worker's main thread).
        "parallel_workers": 0,
    }
    (folder / "settings.json").write_text(json.dumps(settings))
    model_settings = {
        "name": "wine",
        "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": "./model.joblib"},
        "max_batch_size": 64,
        "max_batch_time": 0.002,
    }
    (folder / "model-settings.json").write_text(json.dumps(model_settings))
    return folder


# -- the servers ----------------------------------------------------------------------------


class Server:
    def __init__(self, name: str, command: list[str], health: str, port: int, env: dict[str, str]):
        self.name, self.command, self.health, self.port, self.env = name, command, health, port, env
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = FIXTURES / f"{name}.log"

    def start(self, timeout: float = 300.0) -> float:
        """Seconds from the process start to its health endpoint's first 200."""
        url = f"http://127.0.0.1:{self.port}{self.health}"
        with open(self.log, "wb") as log:
            start = time.monotonic()
            self.proc = subprocess.Popen(
                self.command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=FIXTURES,
                start_new_session=True,
            )
        deadline = start + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return time.monotonic() - start
            except OSError:
                pass
            time.sleep(0.01)
        raise TimeoutError(f"{self.name} not healthy in {timeout} s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=20)


# -- the load generator -----------------------------------------------------------------------


def http_request(path: str, body: bytes, port: int) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def _connection(
    port: int, request: bytes, latencies: list[float], *, count: int = 0, until: float = 0.0
) -> int:
    """Requests one after another on one keep-alive connection; the errors seen."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    errors = 0
    done = 0
    clock = time.perf_counter
    try:
        while (count and done < count) or (until and clock() < until):
            start = clock()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            latencies.append(clock() - start)
            if head[9:12] != b"200":
                errors += 1
            done += 1
    finally:
        writer.close()
    return errors


def sequential(port: int, request: bytes, count: int) -> tuple[float, float]:
    latencies: list[float] = []
    errors = asyncio.run(_connection(port, request, latencies, count=count))
    assert errors == 0, f"{errors} failed requests"
    ordered = sorted(latencies)
    return ordered[len(ordered) // 2] * 1000, ordered[int(len(ordered) * 0.99)] * 1000


def throughput(port: int, request: bytes, seconds: float) -> float:
    async def run() -> tuple[int, int, float]:
        latencies: list[float] = []
        start = time.perf_counter()
        until = start + seconds
        errors = await asyncio.gather(
            *(_connection(port, request, latencies, until=until) for _ in range(CONNECTIONS))
        )
        return len(latencies), sum(errors), time.perf_counter() - start

    done, errors, elapsed = asyncio.run(run())
    assert errors == 0, f"{errors} failed requests"
    return done / elapsed


def check(port: int, request: bytes) -> Any:
    async def one() -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.partition(b":")[2])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        body = await reader.readexactly(length)
        writer.close()
        assert head[9:12] == b"200", head + body
        return body

    return json.loads(asyncio.run(one()))


# -- main -----------------------------------------------------------------------------------


def measure(server: Server, path: str, body: bytes, options: argparse.Namespace) -> dict:
    ready = server.start()
    try:
        request = http_request(path, body, server.port)
        answer = check(server.port, request)
        sequential(server.port, request, 200)  # warm the connection path
        p50, p99 = sequential(server.port, request, options.requests)
        rps = throughput(server.port, request, options.seconds)
    finally:
        server.stop()
    figures = {"ready_s": ready, "p50_ms": p50, "p99_ms": p99, "rps": rps, "answer": answer}
    print(
        f"{server.name:>8}: ready {ready:.2f} s, p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
        f"{rps:.0f} req/s at {CONNECTIONS} connections",
        flush=True,
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="sequential requests (3000)")
    parser.add_argument("--seconds", type=float, default=10.0, help="throughput time (10 s)")
    parser.add_argument("--no-mlserver", action="store_true", help="skip MLServer")
    options = parser.parse_args()

    model_dir, joblib_path, row = make_model(FIXTURES)
    env = dict(os.environ, PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    env = {k: v for k, v in env.items() if not k.startswith("MLLAB_SERVICE_")}
    split = json.dumps({"dataframe_split": {"columns": COLUMNS, "data": [row]}}).encode()
    v2 = json.dumps(
        {"inputs": [{"name": "predict", "shape": [1, 11], "datatype": "FP64", "data": row}]}
    ).encode()

    port = free_port()
    ours = measure(
        Server(
            "ours",
            [sys.executable, "-m", "jupyter_mllab.serve", str(model_dir), "--port", str(port)],
            "/health",
            port,
            env,
        ),
        "/invocations",
        split,
        options,
    )
    port = free_port()
    theirs = measure(
        Server(
            "mlflow",
            [
                str(VENV_BIN / "mlflow"),
                "models",
                "serve",
                "-m",
                str(model_dir),
                "--env-manager",
                "local",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
            ],
            "/health",
            port,
            env,
        ),
        "/invocations",
        split,
        options,
    )
    assert ours["answer"] == theirs["answer"], (ours["answer"], theirs["answer"])
    mlserver_rps = float("nan")
    if not options.no_mlserver:
        python = mlserver_python()
        port = free_port()
        folder = mlserver_folder(joblib_path, port)
        mlserver_env = {k: v for k, v in os.environ.items() if not k.startswith("MLSERVER")}
        mlserver_env["PATH"] = f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}"
        served = measure(
            Server(
                "mlserver",
                [str(python.parent / "mlserver"), "start", str(folder)],
                "/v2/models/wine/ready",
                port,
                mlserver_env,
            ),
            "/v2/models/wine/infer",
            v2,
            options,
        )
        prediction = served["answer"]["outputs"][0]["data"][0]
        assert abs(prediction - ours["answer"]["predictions"][0]) < 1e-9, (prediction, ours)
        mlserver_rps = served["rps"]

    print(
        f"serving: ours_rps={ours['rps']:.0f} mlflow_rps={theirs['rps']:.0f} "
        f"mlserver_rps={mlserver_rps:.0f} rps_ratio={ours['rps'] / theirs['rps']:.2f} "
        f"rps_ratio_vs_mlserver={ours['rps'] / mlserver_rps:.2f} "
        f"ours_p50_ms={ours['p50_ms']:.2f} mlflow_p50_ms={theirs['p50_ms']:.2f} "
        f"p50_ratio={ours['p50_ms'] / theirs['p50_ms']:.2f} "
        f"ours_ready_s={ours['ready_s']:.2f} mlflow_ready_s={theirs['ready_s']:.2f} "
        f"ready_ratio={ours['ready_s'] / theirs['ready_s']:.2f}",
        flush=True,
    )


if __name__ == "__main__":
    main()
