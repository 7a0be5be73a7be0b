"""Micro-batching keeps every prediction what ``mlflow.pyfunc``'s ``predict`` gives: requests
of each input format, stacked into one call by ``LoadedModel.answer`` and split back, get
the predictions each would get alone, and those of the pyfunc model on the same input
(scikit-learn and a small Keras model; in-process, the HTTP path is tests/test_serve*.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from serve_helpers import save_iris_model


def body(document: Any) -> bytes:
    return json.dumps(document).encode()


def predictions(answer: tuple[int, bytes, int]) -> Any:
    status, raw, _ = answer
    assert status == 200, raw
    return json.loads(raw)["predictions"]


@pytest.fixture(scope="module")
def iris(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from jupyter_mllab.serve.model import LoadedModel

    model_dir = tmp_path_factory.mktemp("batching") / "iris"
    _, frame = save_iris_model(model_dir)
    return {"served": LoadedModel.load(model_dir), "frame": frame}


def test_each_batchable_format_stacks_and_splits_back_exactly(iris: dict[str, Any]) -> None:
    import mlflow.pyfunc

    served = iris["served"]
    frame = iris["frame"]
    pyfunc = mlflow.pyfunc.load_model(str(served.model_dir))
    columns = list(frame.columns)
    reordered = columns[::-1]
    chunks = [frame.iloc[0:3], frame.iloc[50:51], frame.iloc[100:104], frame.iloc[140:150]]
    requests = {
        "dataframe_split": [
            {"dataframe_split": {"columns": columns, "data": c.values.tolist()}} for c in chunks
        ],
        "dataframe_split, other order": [
            {"dataframe_split": {"columns": reordered, "data": c[reordered].values.tolist()}}
            for c in chunks
        ],
        "dataframe_split, whole numbers": [
            {"dataframe_split": {"columns": columns, "data": c.round().astype(int).values.tolist()}}
            for c in chunks
        ],
        "dataframe_records": [{"dataframe_records": c.to_dict(orient="records")} for c in chunks],
    }
    for what, documents in requests.items():
        pieces = [served.piece(body(d), "application/json") for d in documents]
        assert len({piece.key for piece in pieces}) == 1, what  # they stack
        together = served.answer(pieces)
        assert [answer[2] for answer in together] == [len(c) for c in chunks]
        for answer, piece, chunk in zip(together, pieces, chunks, strict=True):
            alone = predictions(served.answer([piece])[0])
            rows = chunk.round() if "whole" in what else chunk
            reference = [int(v) for v in pyfunc.predict(rows)]
            assert predictions(answer) == alone == reference, what


def test_pieces_that_must_not_mix_are_not_stacked(iris: dict[str, Any]) -> None:
    served = iris["served"]
    columns = list(iris["frame"].columns)
    row = iris["frame"].iloc[0].tolist()
    split = served.piece(body({"dataframe_split": {"columns": columns, "data": [row]}}), "a/b")
    other = served.piece(
        body({"dataframe_split": {"columns": columns[::-1], "data": [row[::-1]]}}), "x"
    )
    with_params = served.piece(
        body({"dataframe_split": {"columns": columns, "data": [row]}, "params": {"a": 1}}), "x"
    )
    indexed = served.piece(
        body({"dataframe_split": {"columns": columns, "data": [row], "index": [7]}}), "x"
    )
    assert len({split.key, other.key, with_params.key}) == 3
    assert indexed.key is None  # an index: predicted alone, as MLflow would
    csv = served.piece(b"a,b\n1,2\n", "text/csv")
    assert csv.key is None


def test_a_bad_request_in_a_batch_fails_alone(iris: dict[str, Any]) -> None:
    served = iris["served"]
    columns = list(iris["frame"].columns)
    good = [iris["frame"].iloc[i].tolist() for i in (0, 60, 120)]
    documents = [
        {"dataframe_split": {"columns": columns, "data": [good[0]]}},
        {"dataframe_split": {"columns": columns, "data": [["x", 1, 2, 3]]}},
        {"dataframe_split": {"columns": columns, "data": [good[1], good[2]]}},
    ]
    pieces = [served.piece(body(d), "application/json") for d in documents]
    answers = served.answer(pieces)
    assert [answer[0] for answer in answers] == [200, 400, 200]
    assert "sepal length (cm)" in json.loads(answers[1][1])["message"]
    assert predictions(answers[2]) == [
        int(v) for v in served.model.predict(iris["frame"].iloc[[60, 120]])
    ]


def test_keras_model_batched_equals_pyfunc(tmp_path: Path) -> None:
    import keras
    import mlflow.pyfunc
    import mlflow.tensorflow
    import numpy as np
    from mlflow.models import infer_signature

    from jupyter_mllab.serve.model import LoadedModel

    x = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    mlflow.tensorflow.save_model(
        model,
        str(tmp_path / "keras"),
        signature=infer_signature(x, model.predict(x, verbose=0)),
        input_example=x[:2],
        pip_requirements=[],
    )
    served = LoadedModel.load(tmp_path / "keras")
    assert served.warm_up() is None  # on the saved example
    pyfunc = mlflow.pyfunc.load_model(str(tmp_path / "keras"))
    chunks = [x[0:3], x[3:4], x[4:9]]
    documents = [{"inputs": chunks[0].tolist()}, {"instances": chunks[1].tolist()}]
    documents.append({"inputs": chunks[2].tolist()})
    pieces = [served.piece(body(d), "application/json") for d in documents]
    assert len({piece.key for piece in pieces}) == 1
    together = served.answer(pieces)
    for answer, piece, chunk in zip(together, pieces, chunks, strict=True):
        alone = np.array(predictions(served.answer([piece])[0]))
        reference = pyfunc.predict(chunk)
        # float32 matrix products may round differently with the batch size: ulps, not values
        np.testing.assert_allclose(np.array(predictions(answer)), reference, rtol=1e-5)
        np.testing.assert_allclose(alone, reference, rtol=1e-5)
