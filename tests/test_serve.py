"""jupyter_mllab.serve: a real `python -m jupyter_mllab.serve MODEL_DIR` process, spoken to
over HTTP with each input shape of MLflow's scoring protocol; its predictions are compared
with the model's own and with MLflow's scoring server's parsing of the same body
(``mlflow.pyfunc.scoring_server.invocations``, called in-process: the reference)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serve_helpers import Served, save_iris_model, served, stop_with_sigterm

MAX_BODY = 100_000  # the server under test gets a small limit, to test 413 cheaply


@pytest.fixture(scope="module")
def iris(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    model_dir = tmp_path_factory.mktemp("serve") / "iris-model"
    model, frame = save_iris_model(model_dir)
    return {"dir": model_dir, "model": model, "frame": frame}


@pytest.fixture(scope="module")
def server(iris: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    logs = tmp_path_factory.mktemp("serve-logs")
    command = [
        sys.executable,
        "-m",
        "jupyter_mllab.serve",
        str(iris["dir"]),
        "--port",
        "0",
        "--max-body-bytes",
        str(MAX_BODY),
    ]
    with served(command, cwd=logs, env=dict(os.environ), log=logs / "stderr.txt") as proc:
        yield proc


def expected(iris: dict[str, Any], rows: slice = slice(0, 10)) -> list[int]:
    return [int(v) for v in iris["model"].predict(iris["frame"].iloc[rows])]


def mlflow_reference(iris: dict[str, Any], body: str, content_type: str) -> Any:
    """What MLflow's own scoring server answers to this body (its parsing, in-process)."""
    import mlflow.pyfunc
    from mlflow.pyfunc.scoring_server import invocations

    model = iris.setdefault("pyfunc", mlflow.pyfunc.load_model(str(iris["dir"])))
    result = invocations(body, content_type, model, model.metadata.get_input_schema())
    assert result.status == 200, result.response
    return json.loads(result.response)


def payloads(iris: dict[str, Any]) -> dict[str, tuple[str, str]]:
    frame = iris["frame"].head(10)
    columns = list(frame.columns)
    # Whole numbers only: the columns read as int64, which the signature's doubles refuse
    # unless the server casts them (as MLflow's does).
    split = {"columns": columns, "data": frame.round().astype(int).values.tolist()}
    return {
        "dataframe_split": (json.dumps({"dataframe_split": split}), "application/json"),
        "dataframe_records": (
            json.dumps({"dataframe_records": frame.to_dict(orient="records")}),
            "application/json; charset=utf-8",
        ),
        "instances": (
            json.dumps({"instances": frame.to_dict(orient="records")}),
            "application/json",
        ),
        "inputs": (json.dumps({"inputs": frame.to_dict(orient="list")}), "application/json"),
        "csv": (frame.to_csv(index=False), "text/csv"),
    }


def test_ready_line_ping_health_version(server: Served, iris: dict[str, Any]) -> None:
    import mlflow

    assert server.line == f"Serving iris-model on {server.url}"
    for path in ("/ping", "/health"):
        status, _, _ = server.request("GET", path)
        assert status == 200
    status, _, body = server.request("GET", "/version")
    assert (status, body.decode()) == (200, mlflow.__version__)


@pytest.mark.parametrize(
    "shape", ["dataframe_split", "dataframe_records", "instances", "inputs", "csv"]
)
def test_each_input_shape_predicts_as_the_model_and_mlflow(
    server: Served, iris: dict[str, Any], shape: str
) -> None:
    body, content_type = payloads(iris)[shape]
    status, headers, raw = server.request(
        "POST", "/invocations", body.encode(), {"Content-Type": content_type}
    )
    assert status == 200, raw
    assert headers["Content-Type"] == "application/json"
    answer = json.loads(raw)
    assert answer == mlflow_reference(iris, body, content_type)
    rows = iris["frame"].head(10)
    if shape == "dataframe_split":
        rows = rows.round()
    assert answer == {"predictions": [int(v) for v in iris["model"].predict(rows)]}


def test_keep_alive_answers_several_requests_on_one_connection(
    server: Served, iris: dict[str, Any]
) -> None:
    import http.client

    body, _ = payloads(iris)["inputs"]
    conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        for _ in range(3):
            conn.request("POST", "/invocations", body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            assert response.status == 200
            assert json.loads(response.read())["predictions"] == expected(iris)
    finally:
        conn.close()


def bad_requests(iris: dict[str, Any]) -> list[tuple[str, bytes, str, int, str]]:
    columns = list(iris["frame"].columns)
    row = [5.1, 3.5, 1.4, 0.2]
    split = {"columns": columns[:2], "data": [row[:2]]}
    return [
        ("malformed JSON", b'{"dataframe_split": ', "application/json", 400, "not valid JSON"),
        ("a JSON list", b"[1, 2]", "application/json", 400, "exactly one of"),
        (
            "two input fields",
            json.dumps({"inputs": [row], "instances": [row]}).encode(),
            "application/json",
            400,
            "exactly one of",
        ),
        ("no input field", b'{"data": [[1]]}', "application/json", 400, "exactly one of"),
        (
            "missing columns",
            json.dumps({"dataframe_split": split}).encode(),
            "application/json",
            400,
            "petal length (cm)",
        ),
        (
            "a text where a double goes",
            json.dumps(
                {"dataframe_split": {"columns": columns, "data": [["x", 1, 2, 3]]}}
            ).encode(),
            "application/json",
            400,
            "sepal length (cm)",
        ),
        (
            "split without data",
            b'{"dataframe_split": {"columns": []}}',
            "application/json",
            400,
            "'data'",
        ),
        ("CSV of other columns", b"a,b\n1,2\n", "text/csv", 400, "petal width (cm)"),
        ("not UTF-8", b'{"inputs": "\xff"}', "application/json", 400, "UTF-8"),
        ("an unknown content type", b"x", "application/xml", 415, "application/json"),
        ("another charset", b"{}", "application/json; charset=latin-1", 415, "charset"),
    ]


def test_bad_input_is_a_json_4xx_without_traceback(server: Served, iris: dict[str, Any]) -> None:
    for what, body, content_type, status, words in bad_requests(iris):
        got, headers, raw = server.request(
            "POST", "/invocations", body, {"Content-Type": content_type}
        )
        assert got == status, (what, raw)
        assert headers["Content-Type"] == "application/json", what
        error = json.loads(raw)
        assert set(error) == {"error_code", "message"}, (what, error)
        assert words in error["message"], (what, error)
        assert "Traceback" not in raw.decode(), what
    status, _, _ = server.request("GET", "/ping")  # and the server still answers
    assert status == 200


def test_body_limit_unknown_path_and_method(server: Served, iris: dict[str, Any]) -> None:
    big = json.dumps({"inputs": [[5.1, 3.5, 1.4, 0.2]] * 10_000}).encode()
    assert len(big) > MAX_BODY
    status, headers, raw = server.request(
        "POST", "/invocations", big, {"Content-Type": "application/json"}
    )
    assert status == 413
    assert json.loads(raw)["error_code"] == "REQUEST_TOO_LARGE"
    assert headers.get("Connection") == "close"
    # curl's way with a large body: headers first, with Expect; the 413 comes before the body.
    import socket

    with socket.create_connection((server.host, server.port), timeout=30) as sock:
        sock.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n" % (MAX_BODY + 1)
        )
        answer = sock.makefile("rb").read()  # the server closes the connection after it
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b"REQUEST_TOO_LARGE" in answer and b"100 Continue" not in answer
    status, _, raw = server.request("GET", "/nowhere")
    assert (status, json.loads(raw)["error_code"]) == (404, "ENDPOINT_NOT_FOUND")
    status, _, raw = server.request("GET", "/invocations")
    assert status == 405
    body, _ = payloads(iris)["inputs"]
    assert server.post_json(json.loads(body)) == (200, {"predictions": expected(iris)})


def test_model_folder_checked_before_serving(tmp_path: Path) -> None:
    import subprocess

    result = subprocess.run(
        [sys.executable, "-m", "jupyter_mllab.serve", str(tmp_path), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "no MLmodel file" in result.stderr


def test_params_reach_a_model_that_takes_them(tmp_path: Path) -> None:
    """In-process (no second server start): ``params`` go from the body to predict."""
    import mlflow.pyfunc
    import pandas as pd
    from mlflow.models import infer_signature

    from jupyter_mllab.serve.protocol import parse_json
    from jupyter_mllab.serve.server import LoadedModel

    class Scale(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
            return model_input["x"] * (params or {}).get("factor", 1.0)

    frame = pd.DataFrame({"x": [1.0, 2.0]})
    signature = infer_signature(frame, frame["x"], params={"factor": 1.0})
    mlflow.pyfunc.save_model(
        str(tmp_path / "scale"), python_model=Scale(), signature=signature, pip_requirements=[]
    )
    model = LoadedModel.load(tmp_path / "scale")
    data, params = parse_json(
        json.dumps({"inputs": {"x": [1, 2]}, "params": {"factor": 3.0}}), model.spec
    )
    assert params == {"factor": 3.0}
    assert list(model.predict(data, params)) == [3.0, 6.0]


def test_sigterm_stops_the_server_cleanly(server: Served) -> None:
    """Last in this module: it stops the module's server."""
    assert stop_with_sigterm(server) < 5.0
    assert "Traceback" not in server.log.read_text()


def test_serve_imports_only_the_stdlib_mlflow_pandas_numpy_and_itself() -> None:
    """What lets a bundle carry the package as it is (the import-linter contract names the
    rest of jupyter_mllab; this also catches a new third-party import)."""
    import ast

    import jupyter_mllab.serve

    allowed = set(sys.stdlib_module_names) | {"mlflow", "pandas", "numpy", "uvicorn"}
    found: dict[str, set[str]] = {}
    for path in sorted(Path(jupyter_mllab.serve.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue  # relative imports stay inside the package
            for name in names:
                if name.split(".")[0] not in allowed:
                    found.setdefault(path.name, set()).add(name)
    assert found == {}


class _RowSums:
    """A pyfunc model on a tensor signature (float32, (-1, 3)), as Keras models have."""

    @staticmethod
    def save(path: Path) -> None:
        import mlflow.pyfunc
        import numpy as np
        from mlflow.models import ModelSignature
        from mlflow.types import Schema, TensorSpec

        class RowSums(mlflow.pyfunc.PythonModel):
            def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
                values = np.asarray(model_input)
                assert values.dtype == np.float32, values.dtype
                return values.sum(axis=1)

        signature = ModelSignature(
            inputs=Schema([TensorSpec(np.dtype("float32"), (-1, 3))]),
            outputs=Schema([TensorSpec(np.dtype("float32"), (-1,))]),
        )
        mlflow.pyfunc.save_model(
            str(path), python_model=RowSums(), signature=signature, pip_requirements=[]
        )


def test_tensor_signature_parses_as_mlflow_does(tmp_path: Path) -> None:
    """In-process: our parsing and MLflow's, each followed by the same model's predict."""
    import mlflow.pyfunc
    from mlflow.pyfunc.scoring_server import invocations

    from jupyter_mllab.serve.protocol import parse_request, predictions_body
    from jupyter_mllab.serve.server import LoadedModel

    _RowSums.save(tmp_path / "sums")
    ours = LoadedModel.load(tmp_path / "sums")
    theirs = mlflow.pyfunc.load_model(str(tmp_path / "sums"))
    rows = [[1, 2, 3], [4.5, 5, 6]]
    bodies = [
        {"inputs": rows},
        {"instances": rows},
        {"dataframe_split": {"columns": ["a", "b", "c"], "data": rows}},
    ]
    for document in bodies:
        body = json.dumps(document)
        data, params = parse_request(body.encode(), "application/json", ours.spec)
        got = json.loads(predictions_body(ours.predict(data, params)))
        reference = invocations(
            body, "application/json", theirs, ours.model.metadata.get_input_schema()
        )
        assert reference.status == 200, reference.response
        assert got == json.loads(reference.response) == {"predictions": [6.0, 15.5]}, document


def test_content_type_header_is_read_as_mlflow_reads_it() -> None:
    from jupyter_mllab.serve.protocol import ProtocolError, parse_content_type

    for header, media in [
        ("application/json", "application/json"),
        ("Application/JSON; charset=UTF-8", "application/json"),
        ("application/json;", "application/json"),
        ('text/csv; charset="utf-8"', "text/csv"),
    ]:
        assert parse_content_type(header) == media
    for header in (
        None,
        "",
        "text/plain",
        "text/csv; header=present",
        "application/json; charset=ascii",
    ):
        with pytest.raises(ProtocolError) as caught:
            parse_content_type(header)
        assert caught.value.status == 415
