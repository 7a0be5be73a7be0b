"""A version's signature and input example as the detail sends them, read from model
folders MLflow itself writes (``mlflow.pyfunc.save_model``): a DataFrame example, a 2-D
array (what a Keras model on tabular data logs) and a 3-D tensor; no server needed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from jupyter_mllab.models.views import input_example_of, signature_of


def _save(path: Path, example: Any) -> tuple[Any, Any]:
    import mlflow.pyfunc
    from mlflow.models import Model

    class Identity(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
            return model_input

    mlflow.pyfunc.save_model(
        path, python_model=Identity(), input_example=example, pip_requirements=["mlflow"]
    )
    model = Model.load(path)
    info = model.saved_input_example_info or {}
    raw = json.loads((path / info["artifact_path"]).read_text()) if info else None
    return model, raw


def test_dataframe_example_and_columns(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": range(30), "b": [i / 2 for i in range(30)], "c": ["x"] * 30})
    model, raw = _save(tmp_path / "m", frame)
    signature = signature_of(model)
    assert [(c["name"], c["type"]) for c in signature["inputs"]] == [
        ("a", "long"),
        ("b", "double"),
        ("c", "string"),
    ]
    example = input_example_of(raw)
    assert example is not None
    assert example["columns"] == ["a", "b", "c"]
    assert len(example["data"]) == 20 and example["truncated"]
    assert example["data"][3] == [3, 1.5, "x"]


def test_array_and_tensor_examples(tmp_path: Path) -> None:
    model, raw = _save(tmp_path / "flat", np.arange(12, dtype="float32").reshape(4, 3))
    [spec] = signature_of(model)["inputs"]
    assert spec["name"] is None and spec["type"].startswith("tensor(float32, [-1, 3]")
    example = input_example_of(raw)
    assert example == {
        "columns": ["0", "1", "2"],
        "data": [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0], [9.0, 10.0, 11.0]],
        "truncated": False,
    }

    model, raw = _save(tmp_path / "cube", np.zeros((2, 8, 8), dtype="float32"))
    assert signature_of(model)["inputs"][0]["type"].startswith("tensor(float32, [-1, 8, 8]")
    example = input_example_of(raw)
    assert example is not None and len(example["data"]) == 2  # rows of nested lists


@pytest.mark.parametrize(
    "raw, expected",
    [
        (None, None),
        ("text", None),
        ({"x": [1, 2], "y": [3, 4]}, {"columns": ["x", "y"], "data": [[1, 3], [2, 4]]}),
        ([1, 2], {"columns": ["0"], "data": [[1], [2]]}),
        ({"data": []}, None),
    ],
)
def test_other_example_shapes(raw: Any, expected: Any) -> None:
    out = input_example_of(raw)
    if expected is None:
        assert out is None
    else:
        assert out == {**expected, "truncated": False}


def test_a_big_example_is_cut_to_64_kb() -> None:
    rows = [["x" * 10_000] for _ in range(20)]
    out = input_example_of({"columns": ["text"], "data": rows})
    assert out is not None and out["truncated"]
    assert 0 < len(out["data"]) < 20 and len(json.dumps(out["data"])) <= 64 * 1024
    assert input_example_of({"columns": ["t"], "data": [["x" * 100_000]]}) is None
