"""serve/v2.py: Open Inference Protocol (KServe V2) requests decoded as MLServer's codecs
decode them, for real MLflow signatures (a logistic regression on iris saved with mlflow, and
``infer_signature`` on real frames and arrays); the model's predictions on the decoded input
equal its predictions on the original frame; every bad request names its field."""

from __future__ import annotations

import base64
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from serve_helpers import save_iris_model

from jupyter_mllab.serve.protocol import InputSpec, ProtocolError
from jupyter_mllab.serve.v2 import (
    infer_response,
    model_metadata,
    parse_infer,
    server_metadata,
)


@pytest.fixture(scope="module")
def iris(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    import mlflow.pyfunc

    model_dir = tmp_path_factory.mktemp("v2") / "iris-model"
    model, frame = save_iris_model(Path(model_dir))
    pyfunc = mlflow.pyfunc.load_model(str(model_dir))
    signature = pyfunc.metadata.signature
    return {
        "model": model,
        "pyfunc": pyfunc,
        "frame": frame,
        "signature": signature,
        "spec": InputSpec.from_schema(signature.inputs),
    }


def pandas_request(frame: pd.DataFrame, **parameters: Any) -> dict[str, Any]:
    """A request as MLServer's ``PandasCodec.encode_request(frame)`` writes it to JSON."""
    inputs = []
    for name in frame.columns:
        column = frame[name]
        tensor: dict[str, Any] = {
            "name": name,
            "shape": [len(column), 1],
            "datatype": {"float64": "FP64", "int64": "INT64", "object": "BYTES"}[str(column.dtype)],
            "data": column.tolist(),
        }
        if column.dtype == object:
            tensor["parameters"] = {"content_type": "str"}
        inputs.append(tensor)
    return {"parameters": {"content_type": "pd", **parameters}, "inputs": inputs}


def rejected(body: Any, spec: Any) -> str:
    with pytest.raises(ProtocolError) as caught:
        parse_infer(body, spec)
    assert caught.value.status == 400
    return caught.value.message


def test_pandas_request_predicts_as_the_model(iris: dict[str, Any]) -> None:
    frame = iris["frame"].iloc[::15]
    data, params, request_id, outputs = parse_infer(pandas_request(frame), iris["spec"])
    assert isinstance(data, pd.DataFrame) and list(data.columns) == list(frame.columns)
    assert (data.dtypes == np.float64).all()
    assert params is None and request_id is None and outputs is None
    predictions = iris["pyfunc"].predict(data)
    assert list(predictions) == list(iris["model"].predict(frame))

    response = infer_response("iris", 3, predictions, "req-1", None)
    assert response == {
        "model_name": "iris",
        "model_version": "3",
        "id": "req-1",
        "parameters": {"content_type": "np"},
        "outputs": [
            {
                "name": "output-1",
                "shape": [len(frame), 1],
                "datatype": "INT64",
                "parameters": {"content_type": "np"},
                "data": [int(v) for v in iris["model"].predict(frame)],
            }
        ],
    }
    # As MLServer's NumpyCodec.decode_output reads it back: the array, reshaped.
    (output,) = response["outputs"]
    back = np.array(output["data"], dtype=output["datatype"].lower()).reshape(output["shape"])
    assert back.ravel().tolist() == list(predictions)


def test_default_content_type_from_the_signature_and_casts(iris: dict[str, Any]) -> None:
    """No content type: a column signature means one column per tensor (MLServer's MLflow
    runtime); shapes [N] and [N, 1], nested data, FP32 and INT64 all become float64."""
    frame = iris["frame"].head(4)
    names = list(frame.columns)
    inputs = [
        {"name": names[0], "shape": [4], "datatype": "FP32", "data": frame[names[0]].tolist()},
        {
            "name": names[1],
            "shape": [4, 1],
            "datatype": "FP64",
            "data": [[v] for v in frame[names[1]]],
        },
        {"name": names[2], "shape": [4, 1], "datatype": "INT64", "data": [1, 1, 2, 1]},
        {"name": names[3], "shape": [4, 1], "datatype": "FP64", "data": frame[names[3]].tolist()},
    ]
    data, _, _, _ = parse_infer({"id": "a", "inputs": inputs}, iris["spec"])
    assert list(data.columns) == names and (data.dtypes == np.float64).all()
    assert data[names[2]].tolist() == [1.0, 1.0, 2.0, 1.0]
    assert data[names[0]].tolist() == pytest.approx(frame[names[0]].tolist(), rel=1e-6)
    assert len(iris["pyfunc"].predict(data)) == 4


def test_params_id_and_outputs(iris: dict[str, Any]) -> None:
    body = pandas_request(iris["frame"].head(2), alpha=0.5, headers={"x": "y"})
    body["id"] = "42"
    body["outputs"] = [{"name": "label"}]
    _, params, request_id, outputs = parse_infer(body, iris["spec"])
    assert (params, request_id, outputs) == ({"alpha": 0.5}, "42", ["label"])
    response = infer_response("iris", None, np.array([0, 2]), request_id, outputs)
    assert "model_version" not in response
    assert [o["name"] for o in response["outputs"]] == ["label"]  # one output: named so


def test_tensor_signature_gets_an_ndarray() -> None:
    from mlflow.models import infer_signature

    x = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32)
    signature = infer_signature(x, x.sum(axis=1))
    spec = InputSpec.from_schema(signature.inputs)
    body = {"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP64", "data": x[:2].tolist()}]}
    data, _, _, _ = parse_infer(body, spec)
    assert isinstance(data, np.ndarray) and data.dtype == np.float32 and data.shape == (2, 3)
    np.testing.assert_allclose(data, x[:2])
    # INT8 widens to float32; BYTES does not read as float32.
    body["inputs"][0] |= {"datatype": "INT8", "data": [1, 2, 3, 4, 5, 6]}
    assert parse_infer(body, spec)[0].tolist() == [[1, 2, 3], [4, 5, 6]]
    body["inputs"][0] |= {"datatype": "BYTES", "data": ["a"] * 6}
    assert "'inputs[0] ('x')' is BYTES: the model's signature wants FP32" in rejected(body, spec)

    meta = model_metadata("x", 1, signature.inputs, signature.outputs)
    assert meta["inputs"] == [
        {
            "name": "input-0",
            "datatype": "FP32",
            "shape": [-1, 3],
            "parameters": {"content_type": "np"},
        }
    ]
    assert meta["parameters"] == {"content_type": "np"}
    assert meta["outputs"][0]["datatype"] == "FP32"


def test_no_signature_one_tensor_or_several() -> None:
    spec = InputSpec.from_schema(None)
    one = {"inputs": [{"name": "a", "shape": [2, 2], "datatype": "INT32", "data": [1, 2, 3, 4]}]}
    data = parse_infer(one, spec)[0]
    assert data.dtype == np.int32 and data.tolist() == [[1, 2], [3, 4]]
    two = {
        "inputs": [
            {"name": "a", "shape": [2], "datatype": "BOOL", "data": [True, False]},
            {"name": "b", "shape": [2], "datatype": "BYTES", "data": ["x", None]},
        ]
    }
    frame = parse_infer(two, spec)[0]
    assert frame["a"].tolist() == [True, False] and frame["b"][0] == "x"
    assert frame["b"].isna().tolist() == [False, True]
    two["parameters"] = {"content_type": "dict"}
    arrays = parse_infer(two, spec)[0]
    assert set(arrays) == {"a", "b"} and arrays["a"].dtype == bool


def test_bytes_content_types_and_string_columns() -> None:
    from mlflow.models import infer_signature

    frame = pd.DataFrame(
        {
            "city": ["Oslo", "Lima"],
            "blob": [b"\x00\x01", b"hi"],
            "when": pd.to_datetime(["2026-01-02T03:04:05", "2026-02-03T00:00:00"]),
            "n": [1, 2],
        }
    )
    signature = infer_signature(frame)
    spec = InputSpec.from_schema(signature.inputs)
    body = {
        "inputs": [
            {
                "name": "city",
                "shape": [2, 1],
                "datatype": "BYTES",
                "parameters": {"content_type": "str"},
                "data": ["Oslo", "Lima"],
            },
            {
                "name": "blob",
                "shape": [2, 1],
                "datatype": "BYTES",
                "parameters": {"content_type": "base64"},
                "data": [base64.b64encode(v).decode() for v in frame["blob"]],
            },
            {
                "name": "when",
                "shape": [2, 1],
                "datatype": "BYTES",
                "parameters": {"content_type": "datetime"},
                "data": ["2026-01-02T03:04:05", "2026-02-03"],
            },
            {"name": "n", "shape": [2, 1], "datatype": "INT64", "data": [1, 2]},
        ]
    }
    data = parse_infer(body, spec)[0]
    assert data["city"].tolist() == ["Oslo", "Lima"]
    assert data["blob"].tolist() == [b"\x00\x01", b"hi"]
    assert data["when"].tolist() == frame["when"].tolist()
    assert data["n"].dtype == np.int64
    body["inputs"][3] |= {"datatype": "FP64", "data": [1.0, 2.5]}  # float -> long: unsafe
    assert "('n')' is FP64: the model's signature wants INT64" in rejected(body, spec)
    body["inputs"][3] |= {"datatype": "BYTES", "data": ["1", "2"]}
    assert "('n')' is BYTES" in rejected(body, spec)

    meta = model_metadata("geo", None, signature.inputs, None)
    assert "versions" not in meta and meta["outputs"] == []
    assert [
        (t["name"], t["datatype"], t["parameters"]["content_type"]) for t in meta["inputs"]
    ] == [
        ("city", "BYTES", "str"),
        ("blob", "BYTES", "base64"),
        ("when", "BYTES", "datetime"),
        ("n", "INT64", "np"),
    ]


def test_model_metadata_of_a_column_signature(iris: dict[str, Any]) -> None:
    signature = iris["signature"]
    meta = model_metadata("iris", 3, signature.inputs, signature.outputs)
    assert meta["name"] == "iris" and meta["versions"] == ["3"] and meta["platform"] == "mlflow"
    assert meta["parameters"] == {"content_type": "pd"}
    assert [t["name"] for t in meta["inputs"]] == list(iris["frame"].columns)
    assert all(
        t["datatype"] == "FP64"
        and t["shape"] == [-1, 1]
        and t["parameters"] == {"content_type": "np"}
        for t in meta["inputs"]
    )
    assert meta["outputs"] == [
        {
            "name": "output-0",
            "datatype": "INT64",
            "shape": [-1],
            "parameters": {"content_type": "np"},
        }
    ]
    assert server_metadata("3.1.0") == {"name": "mllab-serve", "version": "3.1.0", "extensions": []}


def test_responses_for_frames_series_and_dicts() -> None:
    frame = pd.DataFrame(
        {"label": ["a", "b", None], "score": [0.5, math.nan, 1.0], "ok": [True, False, True]}
    )
    response = infer_response("m", "1", frame, None, None)
    assert response["parameters"] == {"content_type": "pd"} and "id" not in response
    outputs = {o["name"]: o for o in response["outputs"]}
    assert outputs["label"] == {
        "name": "label",
        "shape": [3, 1],
        "datatype": "BYTES",
        "parameters": {"content_type": "str"},
        "data": ["a", "b", None],
    }
    assert outputs["score"]["data"] == [0.5, None, 1.0]  # NaN is null, as MLServer writes it
    assert outputs["ok"]["datatype"] == "BOOL"
    picked = infer_response("m", "1", frame, None, ["ok", "label"])
    assert [o["name"] for o in picked["outputs"]] == ["ok", "label"]
    with pytest.raises(ProtocolError) as caught:
        infer_response("m", "1", frame, None, ["nope"])
    assert "'outputs[0].name' is 'nope'" in caught.value.message

    series = infer_response("m", None, pd.Series([1.5, 2.5], name="price"), None, None)
    assert series["outputs"][0]["name"] == "price"
    assert series["outputs"][0]["shape"] == [2, 1] and series["outputs"][0]["datatype"] == "FP64"

    tensors = infer_response("m", None, {"probs": np.eye(2, dtype=np.float32)}, None, None)
    assert tensors["parameters"] == {"content_type": "dict"}
    assert tensors["outputs"][0] == {
        "name": "probs",
        "shape": [2, 2],
        "datatype": "FP32",
        "parameters": {"content_type": "np"},
        "data": [1.0, 0.0, 0.0, 1.0],
    }
    listed = infer_response("m", None, [[1, 2], [3, 4]], None, None)["outputs"][0]
    assert listed["shape"] == [2, 2] and listed["datatype"] == "INT64"
    objects = infer_response("m", None, pd.DataFrame({"v": [[1, 2], [3, 4]]}), None, None)
    assert objects["outputs"][0]["shape"] == [2, 2]
    mixed = infer_response("m", None, pd.DataFrame({"v": [{"a": 1}, 2]}), None, None)
    assert mixed["outputs"][0]["parameters"] == {"content_type": "pd_json"}
    assert mixed["outputs"][0]["data"] == ['{"a": 1}', "2"]


def tensor(**fields: Any) -> dict[str, Any]:
    return {"name": "a", "shape": [1], "datatype": "FP64", "data": [1]} | fields


BAD_REQUESTS = [
    ([], "a JSON object"),
    ({"inputs": []}, "'inputs' must be a non-empty list"),
    ({"inputs": [{}], "extra": 1}, "Unknown fields ['extra']"),
    ({"inputs": ["x"]}, "'inputs[0]' must be a tensor object"),
    ({"inputs": [{"name": "a", "shape": [1], "datatype": "FP64"}]}, "'inputs[0].data' is missing"),
    ({"id": 3, "inputs": [{}]}, "'id' must be a string"),
    ({"parameters": [], "inputs": [{}]}, "'parameters' must be a JSON object"),
    ({"parameters": {"content_type": "csv"}, "inputs": [{}]}, "'parameters.content_type' is"),
    ({"inputs": [tensor(name="")]}, "'inputs[0].name'"),
    ({"inputs": [tensor(shape=[-1])]}, "'inputs[0] ('a').shape'"),
    ({"inputs": [tensor(datatype="BF16")]}, "'inputs[0] ('a').datatype' is 'BF16'"),
    (
        {"inputs": [tensor(shape=[3], data=[1, 2])]},
        "'inputs[0] ('a').data' has 2 values; shape [3]",
    ),
    (
        {"inputs": [tensor(datatype="FP32", data=["abc"])]},
        'holds "abc": datatype FP32 needs numbers',
    ),
    ({"inputs": [tensor(datatype="INT64", data=[1.5])]}, "holds a fraction"),
    ({"inputs": [tensor(datatype="INT8", data=[1000])]}, "cannot be read as INT8"),
    ({"inputs": [tensor(datatype="BOOL", data=["yes"])]}, "true/false"),
    ({"inputs": [tensor(datatype="BYTES", data=[1])]}, "datatype BYTES needs strings"),
    ({"inputs": [tensor(data=[{"x": 1}])]}, "holds an object"),
    (
        {"inputs": [tensor(datatype="BYTES", parameters={"content_type": "base64"}, data=["%%"])]},
        "not base64",
    ),
    (
        {"inputs": [tensor(parameters={"content_type": "zip"})]},
        "'inputs[0] ('a').parameters.content_type' is 'zip'",
    ),
    ({"inputs": [tensor()], "outputs": [{"id": 1}]}, "'outputs[0].name' must be a string"),
    ({"inputs": [tensor(), tensor()]}, "Two inputs are named 'a'"),
    (
        {"parameters": {"content_type": "np"}, "inputs": [tensor(), tensor(name="b")]},
        "'np' takes one input tensor; got 2",
    ),
]


@pytest.mark.parametrize(("body", "field"), BAD_REQUESTS)
def test_bad_requests_name_their_field(body: Any, field: str) -> None:
    assert field in rejected(body, InputSpec.from_schema(None))


def test_bad_columns_for_a_column_signature(iris: dict[str, Any]) -> None:
    frame = iris["frame"].head(3)
    body = pandas_request(frame)
    body["inputs"][0]["name"] = "petal colour"
    message = rejected(body, iris["spec"])
    assert "'inputs[0] ('petal colour')' is not an input of this model" in message
    assert "sepal width (cm)" in message
    body = pandas_request(frame)
    body["inputs"][1] |= {"shape": [2, 1], "data": body["inputs"][1]["data"][:2]}
    assert "different numbers of rows" in rejected(body, iris["spec"])
    body = pandas_request(frame)
    body["inputs"][2] |= {"datatype": "BYTES", "data": ["1", "2", "3"]}
    assert "'inputs[2] ('petal length (cm)')' is BYTES" in rejected(body, iris["spec"])
