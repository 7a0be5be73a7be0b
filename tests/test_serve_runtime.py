"""The service process of CONTRACT C1 (jupyter_mllab/serve), run for real: uvicorn on a
port or an inherited socket, micro-batching, warm-up before ready, the Open Inference
endpoints, token, identity, Host check, metrics, SIGTERM with requests in flight.

Most checks share one process serving a small pyfunc model (from code: ``out = x + 10 y``)
that sleeps a little in ``predict`` so that concurrent requests meet in the batcher, fails
on ``x == -1`` (the model's own exception), and appends each call's rows to a file named by
``$SLOW_MODEL_CALLS`` (which tells how requests were batched, and that warm-up ran)."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serve_helpers import READY_TIMEOUT, Served, served, stop_with_sigterm

TOKEN = "t0ken-for-tests"
SECRET = "s3cret-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
JSON_AUTH = {**AUTH, "Content-Type": "application/json"}
SLEEP = 0.15  # seconds each predict call takes

MODEL_CODE = f"""
import os, time
import mlflow.pyfunc
from mlflow.models import set_model


class Slow(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        calls = os.environ.get("SLOW_MODEL_CALLS")
        if calls:
            with open(calls, "a") as log:
                log.write(f"{{time.time()}} {{len(model_input)}}\\n")
            time.sleep({SLEEP})
        if (model_input["x"] == -1).any():
            raise ValueError("a secret detail of the model's failure")
        return (model_input["x"] + 10 * model_input["y"]).to_numpy()


set_model(Slow())
"""


def save_slow_model(dest: Path) -> None:
    import mlflow.pyfunc
    import pandas as pd
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    code = dest.parent / "slow_model.py"
    code.write_text(MODEL_CODE)
    signature = ModelSignature(
        inputs=Schema([ColSpec("double", "x"), ColSpec("double", "y")]),
        outputs=Schema([ColSpec("double")]),
    )
    mlflow.pyfunc.save_model(
        str(dest),
        python_model=str(code),
        signature=signature,
        input_example=pd.DataFrame({"x": [1.0], "y": [2.0]}),
        pip_requirements=[],
    )


def expected(rows: list[list[float]]) -> list[float]:
    return [x + 10 * y for x, y in rows]


@pytest.fixture(scope="module")
def slow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("serve-runtime")
    save_slow_model(root / "slow")
    calls, ready = root / "calls.txt", root / "ready.json"
    env = dict(
        os.environ,
        MLLAB_SERVICE_TOKEN=TOKEN,
        MLLAB_SERVICE_SECRET=SECRET,
        SLOW_MODEL_CALLS=str(calls),
    )
    command = [
        sys.executable,
        "-m",
        "jupyter_mllab.serve",
        str(root / "slow"),
        "--port",
        "0",
        "--ready-file",
        str(ready),
        "--name",
        "slow",
        "--model-key",
        "demo/slow@2",
        "--run-id",
        "r123",
        "--batch-window-ms",
        "20",
        "--recent-requests",
        "5",
    ]
    with served(command, cwd=root, env=env, log=root / "stderr.txt") as server:
        yield {"server": server, "calls": calls, "ready": ready, "root": root}


def post(server: Served, path: str, document: Any, headers: dict[str, str] | None = None) -> Any:
    status, got, body = server.request(
        "POST", path, json.dumps(document).encode(), headers or JSON_AUTH
    )
    return status, got, json.loads(body)


def split(rows: list[list[float]]) -> dict[str, Any]:
    return {"dataframe_split": {"columns": ["x", "y"], "data": rows}}


def test_ready_file_after_warm_up_and_lineage_headers(slow: dict[str, Any]) -> None:
    server: Served = slow["server"]
    ready = json.loads(slow["ready"].read_text())
    assert ready["pid"] == server.proc.pid and ready["url"] == server.url
    assert ready["model"] == "demo/slow@2"
    # The warm-up predicted on the input example (one row), before the service said ready.
    first_call = float(slow["calls"].read_text().split()[0])
    assert first_call < ready["ready_at"]
    assert server.line == f"Serving slow on {server.url}"

    status, headers, answer = post(server, "/invocations", split([[1, 2], [3, 4]]))
    assert (status, answer) == (200, {"predictions": expected([[1, 2], [3, 4]])})
    assert headers["X-MLLab-Model"] == "demo/slow@2" and headers["X-MLLab-Run"] == "r123"


def test_token_health_and_host_header(slow: dict[str, Any]) -> None:
    server: Served = slow["server"]
    for path in ("/ping", "/health", "/v2/health/live", "/v2/health/ready"):
        status, _, _ = server.request("GET", path)  # no token needed
        assert status == 200, path
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        status, _, body = server.request("GET", "/version", headers=headers)
        assert status == 401 and json.loads(body)["error_code"] == "UNAUTHENTICATED"
        status, _, _ = server.request("POST", "/invocations", b"{}", headers)
        assert status == 401
    status, _, body = server.request("GET", "/version", headers=AUTH)
    assert status == 200 and body.decode()[0].isdigit()
    # DNS rebinding: a page of another site, resolved to 127.0.0.1, sends its own Host.
    for host in ("evil.example", "127.0.0.1.evil.example", "localhost.evil:80", ""):
        status, _, body = server.request("GET", "/health", headers={**AUTH, "Host": host})
        assert status == 403, host
        assert json.loads(body)["error_code"] == "PERMISSION_DENIED"
    for host in (f"localhost:{server.port}", f"127.0.0.1:{server.port}", "LOCALHOST", "[::1]:1"):
        status, _, _ = server.request("GET", "/health", headers={**AUTH, "Host": host})
        assert status == 200, host


def test_identity_needs_the_secret(slow: dict[str, Any]) -> None:
    server: Served = slow["server"]
    status, _, body = server.request("GET", "/mllab/identity", headers=AUTH)
    assert status == 403
    status, _, body = server.request(
        "GET", "/mllab/identity", headers={**AUTH, "X-MLLab-Secret": "guess"}
    )
    assert status == 403
    status, _, body = server.request(
        "GET", "/mllab/identity", headers={**AUTH, "X-MLLab-Secret": SECRET}
    )
    identity = json.loads(body)
    assert status == 200 and identity["pid"] == server.proc.pid
    assert identity["model_key"] == "demo/slow@2"
    assert 0 < time.time() - identity["started_at"] < READY_TIMEOUT + 60


def test_concurrent_requests_are_batched_with_equal_predictions(slow: dict[str, Any]) -> None:
    server: Served = slow["server"]
    before = slow["calls"].read_text().count("\n")
    results: dict[int, Any] = {}

    def one(i: int) -> None:
        rows = [[float(i), float(i % 3)]] if i % 4 else [[float(i), 1.0], [2.0, float(i)]]
        document: Any = split(rows)
        if i % 5 == 0:  # another column order stacks separately, and still answers right
            document = {"dataframe_split": {"columns": ["y", "x"], "data": [r[::-1] for r in rows]}}
        if i % 7 == 0:
            document = {"dataframe_records": [{"x": x, "y": y} for x, y in rows]}
        results[i] = (post(server, "/invocations", document)[::2], expected(rows))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(1, 25)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 24
    for i, ((status, answer), rows) in results.items():
        assert status == 200, (i, answer)
        assert answer == {"predictions": rows}, i
    calls = slow["calls"].read_text().splitlines()[before:]
    batch_rows = [int(line.split()[1]) for line in calls]
    assert sum(batch_rows) == sum(1 if i % 4 else 2 for i in range(1, 25))
    assert len(calls) < 24 and max(batch_rows) > 2, batch_rows  # requests shared calls
    status, _, stats = server.request("GET", "/mllab/stats", headers=AUTH)
    assert json.loads(stats)["batching"]["mean_batch_rows"] > 1.0


def test_model_exception_is_a_generic_500_and_the_trace_goes_to_the_log(
    slow: dict[str, Any],
) -> None:
    server: Served = slow["server"]
    status, _, answer = post(server, "/invocations", split([[-1, 0]]))
    assert status == 500
    assert set(answer) == {"error_code", "message"}
    assert "secret detail" not in json.dumps(answer) and "Traceback" not in json.dumps(answer)
    log = server.log.read_text()
    assert "Traceback" in log and "a secret detail of the model's failure" in log
    # Alongside good requests in one batch: only the bad one fails.
    results: list[Any] = [None] * 4

    def one(i: int) -> None:
        results[i] = post(server, "/invocations", split([[-1 if i == 2 else i, 1]]))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [r[0] for r in results] == [200, 200, 500, 200]
    assert results[3][2] == {"predictions": [13.0]}
    # Signature errors stay 400 and name the field.
    status, _, answer = post(
        server, "/invocations", {"dataframe_split": {"columns": ["x"], "data": [[1]]}}
    )
    assert status == 400 and "'y'" in answer["message"]
    status, _, answer = post(server, "/invocations", split([["a", 1]]))
    assert status == 400 and "'x'" in answer["message"]


def test_open_inference_endpoints(slow: dict[str, Any]) -> None:
    server: Served = slow["server"]
    status, _, body = server.request("GET", "/v2", headers=AUTH)
    assert status == 200 and "version" in json.loads(body)
    for path in ("/v2/models/slow", "/v2/models/slow/versions/2"):
        status, _, body = server.request("GET", path, headers=AUTH)
        metadata = json.loads(body)
        assert status == 200 and metadata["name"] == "slow", path
        assert [t["name"] for t in metadata["inputs"]] == ["x", "y"]
        assert {t["datatype"] for t in metadata["inputs"]} == {"FP64"}
    status, _, body = server.request("GET", "/v2/models/slow/ready", headers=AUTH)
    assert status == 200 and json.loads(body)["ready"] is True
    status, _, body = server.request("GET", "/v2/models/other", headers=AUTH)
    assert status == 404
    request = {
        "id": "req-1",
        "inputs": [
            {"name": "x", "shape": [2], "datatype": "FP64", "data": [1.0, 2.0]},
            {"name": "y", "shape": [2], "datatype": "FP64", "data": [3.0, 4.0]},
        ],
    }
    for path in ("/v2/models/slow/infer", "/v2/models/slow/versions/2/infer"):
        status, headers, answer = post(server, path, request)
        assert status == 200, answer
        assert answer["id"] == "req-1" and answer["model_name"] == "slow"
        assert answer["outputs"][0]["data"] == expected([[1, 3], [2, 4]])
        assert headers["X-MLLab-Model"] == "demo/slow@2"
    bad = {"inputs": [{"name": "x", "shape": [1], "datatype": "FP64"}]}
    status, _, answer = post(server, "/v2/models/slow/infer", bad)
    assert status == 400 and "data" in answer["message"]
    status, _, _ = server.request("POST", "/v2/models/slow/infer", b"{", JSON_AUTH)
    assert status == 400
    status, _, _ = server.request(
        "POST", "/v2/models/slow/infer", b"a", {**AUTH, "Content-Type": "text/csv"}
    )
    assert status == 415


def test_openapi_document_and_api_page(slow: dict[str, Any]) -> None:
    from openapi_spec_validator import validate

    server: Served = slow["server"]
    status, headers, body = server.request("GET", "/openapi.json", headers=AUTH)
    assert status == 200 and headers["Content-Type"] == "application/json"
    document = json.loads(body)
    validate(document)
    text = json.dumps(document)
    assert '"x"' in text and '"y"' in text  # the signature's columns
    assert "/invocations" in document["paths"] and "/v2/models/slow/infer" in document["paths"]
    assert "[[1.0, 2.0]]" in text  # the input example
    status, headers, page = server.request("GET", "/docs", headers=AUTH)
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b"openapi.json" in page
    status, _, _ = server.request("GET", "/docs/../server.py", headers=AUTH)
    assert status == 404
    status, _, _ = server.request("GET", "/docs/nothing.js", headers=AUTH)
    assert status == 404


def test_stats_and_prometheus_metrics(slow: dict[str, Any]) -> None:
    server: Served = slow["server"]
    post(server, "/invocations", split([[1, 1], [2, 2], [3, 3]]))
    status, _, body = server.request("GET", "/mllab/stats", headers=AUTH)
    stats = json.loads(body)
    assert status == 200 and stats["ready"] is True
    assert stats["requests"] >= 1 and stats["rows"] >= 3
    assert stats["latency_ms"]["p50"] >= SLEEP * 1000 * 0.9
    assert len(stats["recent"]) == 5  # --recent-requests 5, newest first
    newest = stats["recent"][0]
    assert (newest["method"], newest["path"], newest["status"]) == ("POST", "/invocations", 200)
    assert newest["rows"] == 3 and newest["request_bytes"] > 0 and newest["response_bytes"] > 0
    assert stats["batching"]["enabled"] is True and stats["batching"]["window_ms"] == 20.0
    assert "401" in stats["errors"] and stats["series"]
    status, headers, body = server.request("GET", "/metrics", headers=AUTH)
    text = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert 'mllab_requests_total{model="demo/slow@2",status="200"}' in text
    assert 'mllab_ready{model="demo/slow@2"} 1' in text


def test_sigterm_finishes_requests_in_flight(slow: dict[str, Any]) -> None:
    """Last of the module's server: SIGTERM while requests are being predicted."""
    server: Served = slow["server"]
    results: list[Any] = []

    def one(i: int) -> None:
        results.append(post(server, "/invocations", split([[i, 0]]))[::2])

    before = _rows_predicted(slow["calls"])
    threads = [threading.Thread(target=one, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    # Until all six are in predict calls: the last call is then sleeping, in flight.
    while _rows_predicted(slow["calls"]) < before + 6 and time.monotonic() < deadline:
        time.sleep(0.005)
    took = stop_with_sigterm(server)
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results, key=json.dumps) == [(200, {"predictions": [float(i)]}) for i in range(6)]
    assert took < 5.0
    with pytest.raises(OSError):
        socket.create_connection((server.host, server.port), timeout=5).close()


def _rows_predicted(calls: Path) -> int:
    return sum(int(line.split()[1]) for line in calls.read_text().splitlines())


def test_fd_mode_loads_before_it_accepts(tmp_path: Path) -> None:
    """The supervisor's socket: a request sent at once waits for the loaded, warm model
    (200, never 503), and the ready file exists only once it accepts."""
    model_dir = tmp_path / "slow"
    save_slow_model(model_dir)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    ready = tmp_path / "ready.json"
    command = [
        sys.executable,
        "-m",
        "jupyter_mllab.serve",
        str(model_dir),
        "--fd",
        str(listener.fileno()),
        "--ready-file",
        str(ready),
        "--no-batching",
    ]
    with open(tmp_path / "stderr.txt", "wb") as stderr:
        proc = subprocess.Popen(
            command, pass_fds=[listener.fileno()], stdout=subprocess.DEVNULL, stderr=stderr
        )
    listener.close()  # the service holds it now
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=READY_TIMEOUT)
        conn.request("GET", "/health")  # queued by the kernel until the service accepts
        response = conn.getresponse()
        health = response.read()
        assert response.status == 200, health
        assert ready.is_file()
        document = json.loads(ready.read_text())
        assert document["pid"] == proc.pid and document["url"] == f"http://127.0.0.1:{port}"
        rows = [[1.0, 2.0], [3.0, -4.0]]
        body = json.dumps({"dataframe_records": [{"x": x, "y": y} for x, y in rows]}).encode()
        conn.request("POST", "/invocations", body, {"Content-Type": "application/json"})
        assert json.loads(conn.getresponse().read()) == {"predictions": expected(rows)}
        conn.close()
        proc.terminate()
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


def test_port_in_use_exits_3_and_a_broken_model_exits_1(tmp_path: Path) -> None:
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "MLmodel").write_text(
        "flavors: {python_function: {loader_module: nope}}\n"
    )
    serve = [sys.executable, "-m", "jupyter_mllab.serve", str(tmp_path / "broken")]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*serve, "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 3, result.stderr
    assert "in use" in result.stderr
    result = subprocess.run(
        [*serve, "--port", "0"],
        capture_output=True,
        text=True,
        timeout=READY_TIMEOUT,
    )
    assert result.returncode == 1
    assert "does not load" in result.stderr
