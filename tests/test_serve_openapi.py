"""serve/openapi.py: the document of real signatures (iris saved with mlflow; infer_signature
on a frame of mixed types and on an array) is valid OpenAPI 3.1 (openapi-spec-validator), names
the real columns and types, and every request example validates against its own schema AND
predicts: MLflow's scoring server's parser (in-process) and our V2 decoder read each one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from serve_helpers import save_iris_model

from jupyter_mllab.serve.openapi import openapi_document
from jupyter_mllab.serve.protocol import InputSpec, parse_csv
from jupyter_mllab.serve.v2 import parse_infer


@pytest.fixture(scope="module")
def iris(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    import mlflow.pyfunc
    from mlflow.models import Model

    model_dir = Path(tmp_path_factory.mktemp("openapi")) / "iris-model"
    model, frame = save_iris_model(model_dir)
    pyfunc = mlflow.pyfunc.load_model(str(model_dir))
    example = Model.load(str(model_dir)).load_input_example(str(model_dir))
    signature = pyfunc.metadata.signature
    doc = openapi_document("iris", signature.inputs, signature.outputs, example, "lab/iris@3")
    return {"model": model, "pyfunc": pyfunc, "frame": frame, "doc": doc, "example": example}


def validator(doc: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    """A JSON Schema 2020-12 validator of ``schema`` whose $refs resolve into ``doc``."""
    return Draft202012Validator({**schema, "components": doc["components"]})


def test_valid_openapi_31_with_the_real_columns(iris: dict[str, Any]) -> None:
    doc = iris["doc"]
    validate(doc)  # raises on an invalid document
    assert doc["openapi"] == "3.1.0" and doc["servers"] == [
        {"url": ".", "description": "this service (relative to this document)"}
    ]
    assert "lab/iris@3" in doc["info"]["description"] and doc["info"]["version"] == "lab/iris@3"
    columns = list(iris["frame"].columns)
    row = doc["components"]["schemas"]["Row"]
    assert list(row["properties"]) == columns and row["required"] == columns
    assert all(p == {"type": "number", "format": "double"} for p in row["properties"].values())
    split = doc["components"]["schemas"]["DataframeSplit"]
    assert split["properties"]["columns"]["items"]["enum"] == columns
    predictions = doc["components"]["schemas"]["Predictions"]["properties"]["predictions"]
    assert predictions == {"type": "array", "items": {"type": "integer"}}  # the long tensor
    assert set(doc["paths"]) >= {
        "/invocations",
        "/v2/models/iris/infer",
        "/v2/models/iris",
        "/v2/models/iris/ready",
        "/v2/health/live",
        "/v2/health/ready",
        "/ping",
        "/health",
        "/version",
    }
    assert doc["paths"]["/health"]["get"]["security"] == []  # health needs no token
    ok = doc["paths"]["/invocations"]["post"]["responses"]["200"]
    assert set(ok["headers"]) == {"X-MLLab-Model", "X-MLLab-Run"}


def test_every_example_validates_and_predicts(iris: dict[str, Any]) -> None:
    from mlflow.pyfunc.scoring_server import invocations

    doc, pyfunc = iris["doc"], iris["pyfunc"]
    expected = [int(v) for v in iris["model"].predict(iris["frame"].head(3))]
    body = doc["paths"]["/invocations"]["post"]["requestBody"]["content"]
    request_schema = validator(doc, body["application/json"]["schema"])
    examples = body["application/json"]["examples"]
    assert set(examples) == {"dataframe_split", "dataframe_records", "instances", "inputs"}
    # The model's own input example (its first 3 rows), not made-up values.
    assert examples["dataframe_split"]["value"]["dataframe_split"] == {
        "columns": list(iris["frame"].columns),
        "data": iris["frame"].head(3).values.tolist(),
    }
    for name, example in examples.items():
        request_schema.validate(example["value"])
        answer = invocations(json.dumps(example["value"]), "application/json", pyfunc, None)
        assert answer.status == 200, (name, answer.response)
        assert json.loads(answer.response) == {"predictions": expected}, name

    csv_text = body["text/csv"]["example"]
    answer = invocations(csv_text, "text/csv", pyfunc, None)
    assert json.loads(answer.response) == {"predictions": expected}
    assert parse_csv(csv_text, InputSpec.from_schema(pyfunc.metadata.get_input_schema())).shape == (
        3,
        4,
    )

    infer = doc["paths"]["/v2/models/iris/infer"]["post"]["requestBody"]["content"]
    v2_example = infer["application/json"]["example"]
    validator(doc, infer["application/json"]["schema"]).validate(v2_example)
    spec = InputSpec.from_schema(pyfunc.metadata.get_input_schema())
    data, *_ = parse_infer(v2_example, spec)
    assert [int(v) for v in pyfunc.predict(data)] == expected


def test_bad_requests_fail_the_schema(iris: dict[str, Any]) -> None:
    doc = iris["doc"]
    schema = doc["paths"]["/invocations"]["post"]["requestBody"]["content"]["application/json"]
    check = validator(doc, schema["schema"])
    columns = list(iris["frame"].columns)
    for bad in (
        {},
        {"dataframe_split": {"columns": columns}},  # no data
        {"dataframe_split": {"columns": ["nope"], "data": [[1]]}},
        {"dataframe_records": [{columns[0]: "text"}]},
        {"dataframe_records": [{}], "inputs": {}},
        {"instances": [[1, 2]]},
    ):
        assert not check.is_valid(bad), bad


def test_mixed_types_tensors_and_no_signature() -> None:
    from mlflow.models import infer_signature

    frame = pd.DataFrame(
        {
            "city": ["Oslo", "Lima"],
            "n": np.array([1, 2], dtype=np.int32),
            "ok": [True, False],
            "tags": [["a"], ["b", "c"]],
            "when": pd.to_datetime(["2026-01-02", "2026-02-03"]),
        }
    )
    signature = infer_signature(frame, pd.DataFrame({"label": ["x", "y"], "p": [0.1, 0.2]}))
    doc = openapi_document("geo/v1", signature.inputs, signature.outputs, frame, None)
    validate(doc)
    props = doc["components"]["schemas"]["Row"]["properties"]
    assert props == {
        "city": {"type": "string"},
        "n": {"type": "integer", "format": "int32"},
        "ok": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "when": {"type": "string", "format": "date-time"},
    }
    assert "/v2/models/geo%2Fv1/infer" in doc["paths"]
    records = doc["components"]["schemas"]["Predictions"]["properties"]["predictions"]
    assert list(records["items"]["properties"]) == ["label", "p"]
    example = doc["paths"]["/invocations"]["post"]["requestBody"]["content"]["application/json"]
    split = example["examples"]["dataframe_split"]["value"]["dataframe_split"]
    assert split["data"][0][:3] == ["Oslo", 1, True] and split["data"][0][4].startswith(
        "2026-01-02"
    )
    v2 = doc["paths"]["/v2/models/geo%2Fv1/infer"]["post"]["requestBody"]["content"]
    tensors = {t["name"]: t for t in v2["application/json"]["example"]["inputs"]}
    assert tensors["city"]["datatype"] == "BYTES" and tensors["n"]["datatype"] == "INT32"
    assert tensors["tags"]["parameters"] == {"content_type": "pd_json"}

    x = np.zeros((4, 3), dtype=np.float32)
    tensor_signature = infer_signature(x, x[:, 0])
    doc = openapi_document("t", tensor_signature.inputs, tensor_signature.outputs, None, "p/t@1")
    validate(doc)
    inputs = doc["components"]["schemas"]["ScoringRequest"]["oneOf"][3]["properties"]["inputs"]
    assert inputs == {
        "type": "array",
        "items": {
            "type": "array",
            "items": {"type": "number"},
            "minItems": 3,
            "maxItems": 3,
        },
    }
    body = doc["paths"]["/invocations"]["post"]["requestBody"]["content"]["application/json"]
    assert body["examples"]["inputs"]["value"] == {"inputs": [[0.0, 0.0, 0.0]]}  # made up
    v2_example = doc["paths"]["/v2/models/t/infer"]["post"]["requestBody"]["content"]
    assert v2_example["application/json"]["example"]["inputs"][0]["shape"] == [1, 3]

    bare = openapi_document("bare", None, None, None, None)
    validate(bare)
    assert (
        "examples"
        not in bare["paths"]["/invocations"]["post"]["requestBody"]["content"]["application/json"]
    )
