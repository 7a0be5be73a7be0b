"""Writes mlserver_codecs.json: what MLServer's own codecs make of a few payloads.

Run in a venv with MLServer (not a test dependency; bench/serving.py makes such a venv):
    bench/.venv-mlserver/bin/python tests/data/mlserver_codecs.py > tests/data/mlserver_codecs.json
tests/test_serve_v2.py decodes the requests with serve/v2.py and compares its responses for
the same payloads with MLServer's, field for field. The payloads are built there the same way.
"""

import json
import sys

import mlserver
import numpy as np
import pandas as pd
from mlserver.codecs import NumpyRequestCodec, PandasCodec, StringRequestCodec

frame = pd.DataFrame(
    {
        "a": [1.5, 2.5, np.nan],
        "b": [1, 2, 3],
        "c": pd.Series(["x", "y", "z"], dtype=object),  # MLServer 1.7 reads no pandas str dtype
        "d": [True, False, True],
    }
)
array = np.arange(6, dtype=np.float32).reshape(2, 3)
made = {
    "pandas_request": PandasCodec.encode_request(frame),
    "numpy_request": NumpyRequestCodec.encode_request(array),
    "string_request": StringRequestCodec.encode_request(["hello", "world"]),
    "pandas_response": PandasCodec.encode_response("m", frame, model_version="3"),
    "labels_response": NumpyRequestCodec.encode_response(
        "m", np.array([0, 2, 1]), model_version="3"
    ),
    "scores_response": NumpyRequestCodec.encode_response(
        "m", np.array([0.5, np.nan]), model_version="3"
    ),
    "probabilities_response": NumpyRequestCodec.encode_response("m", array, model_version="3"),
}
document = {"$comment": f"made by mlserver {mlserver.__version__}: tests/data/mlserver_codecs.py"}
document |= {
    key: json.loads(value.model_dump_json(exclude_none=True)) for key, value in made.items()
}
json.dump(document, sys.stdout, indent=1)
sys.stdout.write("\n")
