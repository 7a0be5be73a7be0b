"""The Open Inference Protocol (KServe V2) over JSON, as MLServer and Triton speak it.

Requests carry typed tensors: ``{"name", "shape", "datatype", "data", "parameters"}``,
``data`` flat (row-major) or nested. Decoding follows MLServer's codecs
(``mlserver.codecs``, and its MLflow runtime's choice of a default from the signature):

* the request's ``parameters.content_type``: ``"pd"`` makes a DataFrame, one tensor a
  column; ``"np"`` makes the one tensor an ndarray; ``"dict"`` makes ``{name: ndarray}``;
* without it, the model's signature decides: a column signature gets ``"pd"``, a tensor
  signature ``"np"`` (or ``"dict"`` for named tensors); a model without a signature gets
  an ndarray for one tensor and a DataFrame for several;
* a tensor's own ``parameters.content_type``: ``"str"`` (BYTES as text), ``"base64"``
  (BYTES as base64, decoded to bytes), ``"pd_json"`` (each element a JSON text),
  ``"datetime"`` (ISO 8601 text), ``"np"`` (as its datatype says).

The request's other ``parameters`` (not ``content_type`` or ``headers``) are the model's
``params``, as MLServer passes them. Predictions become output tensors as MLServer's
codecs encode them: a DataFrame one tensor per column (``"pd"``), an array one tensor
``output-1`` (``"np"``), a dict one tensor per key (``"dict"``); 1-D shapes get the batch
dimension (``[N]`` -> ``[N, 1]``), NaN is ``null``.

Pure functions, no HTTP: ``server.py`` wires them in. Errors are
:class:`~.protocol.ProtocolError` (400) naming the field, e.g. ``inputs[1].shape``.
"""

from __future__ import annotations

import base64
import datetime
import math
from typing import Any

from .protocol import ProtocolError
from .v2_decode import parse_infer
from .v2_types import (
    CT_BASE64,
    CT_DATETIME,
    CT_DICT,
    CT_NUMPY,
    CT_PANDAS,
    CT_PANDAS_JSON,
    CT_STRING,
    DATATYPES,
    DEFAULT_INPUT_PREFIX,
    DEFAULT_OUTPUT_PREFIX,
    PLATFORM,
    SERVER_NAME,
    datatype_of,
)

__all__ = [
    "DATATYPES",
    "datatype_of",
    "infer_response",
    "model_metadata",
    "parse_infer",
    "server_metadata",
]


# -- metadata -------------------------------------------------------------------------------


def server_metadata(version: str) -> dict[str, Any]:
    """``GET /v2``: the server's name, version and protocol extensions."""
    return {"name": SERVER_NAME, "version": version, "extensions": []}


def model_metadata(
    name: str, version: Any, input_schema: Any, output_schema: Any
) -> dict[str, Any]:
    """``GET /v2/models/<name>``: the tensors the model takes and gives, from its signature.

    The schemas are ``mlflow.types.Schema`` (or ``None``); tensors are described as
    MLServer's MLflow runtime describes them (a column is a ``[-1, 1]`` tensor).
    """
    document: dict[str, Any] = {"name": name, "platform": PLATFORM}
    if version is not None:
        document["versions"] = [str(version)]
    document["inputs"] = _metadata_tensors(input_schema, DEFAULT_INPUT_PREFIX)
    document["outputs"] = _metadata_tensors(output_schema, DEFAULT_OUTPUT_PREFIX)
    if input_schema is not None:
        document["parameters"] = {"content_type": _model_content_type(input_schema)}
    return document


def _model_content_type(schema: Any) -> str:
    if schema.is_tensor_spec():
        return CT_DICT if schema.has_input_names() else CT_NUMPY
    return CT_PANDAS


def _metadata_tensors(schema: Any, prefix: str) -> list[dict[str, Any]]:
    if schema is None:
        return []
    from mlflow.types import DataType

    tensors = []
    for index, spec in enumerate(schema.inputs):
        name = spec.name or f"{prefix}{index}"
        if schema.is_tensor_spec():
            datatype, content_type = datatype_of(spec.type), CT_NUMPY
            shape = [int(n) for n in spec.shape]
        else:
            shape = [-1, 1]
            kind = spec.type
            if not isinstance(kind, DataType):  # Array, Object, Map, Any: JSON per row
                datatype, content_type = "BYTES", CT_PANDAS_JSON
            else:
                datatype, content_type = _COLUMN_TYPES[kind.name]
        tensors.append(
            {
                "name": name,
                "datatype": datatype,
                "shape": shape,
                "parameters": {"content_type": content_type},
            }
        )
    return tensors


# MLflow column types -> (V2 datatype, content type), as MLServer's MLflow runtime has them.
_COLUMN_TYPES = {
    "boolean": ("BOOL", CT_NUMPY),
    "integer": ("INT32", CT_NUMPY),
    "long": ("INT64", CT_NUMPY),
    "float": ("FP32", CT_NUMPY),
    "double": ("FP64", CT_NUMPY),
    "string": ("BYTES", CT_STRING),
    "binary": ("BYTES", CT_BASE64),
    "datetime": ("BYTES", CT_DATETIME),
}


# -- responses ------------------------------------------------------------------------------


def infer_response(
    model_name: str,
    model_version: Any,
    predictions: Any,
    request_id: str | None,
    output_names: list[str] | None,
) -> dict[str, Any]:
    """The V2 inference response for ``predictions`` (a frame, a series, an array, a dict).

    ``output_names`` (the request's ``outputs``) picks outputs by name; for a model with
    one output it names that output.
    """
    import numpy as np
    import pandas as pd

    if isinstance(predictions, pd.DataFrame):
        content_type = CT_PANDAS
        outputs = [_series_output(str(name), predictions[name]) for name in predictions.columns]
    elif isinstance(predictions, pd.Series):
        content_type = CT_NUMPY
        name = str(predictions.name) if predictions.name is not None else None
        outputs = [_series_output(name or f"{DEFAULT_OUTPUT_PREFIX}1", predictions)]
    elif isinstance(predictions, dict):
        content_type = CT_DICT
        outputs = [
            _array_output(str(name), np.asarray(value)) for name, value in predictions.items()
        ]
    else:
        content_type = CT_NUMPY
        outputs = [_array_output(f"{DEFAULT_OUTPUT_PREFIX}1", np.asarray(predictions))]
    if output_names is not None:
        if len(outputs) == 1 and len(output_names) == 1:
            outputs[0]["name"] = output_names[0]
        else:
            by_name = {output["name"]: output for output in outputs}
            for index, name in enumerate(output_names):
                if name not in by_name:
                    raise ProtocolError(
                        f"'outputs[{index}].name' is '{name}': this model's outputs are "
                        f"{', '.join(by_name)}."
                    )
            outputs = [by_name[name] for name in output_names]
    document: dict[str, Any] = {"model_name": model_name}
    if model_version is not None:
        document["model_version"] = str(model_version)
    if request_id is not None:
        document["id"] = request_id
    document["parameters"] = {"content_type": content_type}
    document["outputs"] = outputs
    return document


def _series_output(name: str, series: Any) -> dict[str, Any]:
    import numpy as np

    values = series.to_numpy()
    if values.dtype.kind == "O" or not isinstance(series.dtype, np.dtype):
        # Text columns (pandas' str dtype too) mark missing values as NaN: null in JSON.
        values = series.astype(object).where(series.notna(), None).to_numpy()
    if values.dtype.kind == "O" and len(values) and isinstance(values[0], (list, np.ndarray)):
        try:
            return _array_output(name, np.array([np.asarray(v) for v in values]))
        except ValueError:
            pass  # ragged: each row as JSON below
    return _array_output(name, values)


def _array_output(name: str, values: Any) -> dict[str, Any]:
    import numpy as np

    values = np.asarray(values)
    if values.ndim == 0:
        values = values.reshape(1)
    shape = list(values.shape) if values.ndim > 1 else [int(values.shape[0]), 1]
    datatype = datatype_of(values.dtype)
    parameters: dict[str, str] = {}
    if datatype != "BYTES":
        data = values.reshape(-1).tolist()
        if values.dtype.kind == "f":
            data = [None if isinstance(v, float) and not math.isfinite(v) else v for v in data]
        parameters["content_type"] = CT_NUMPY
    else:
        items = values.reshape(-1).tolist()
        data, content_type = _bytes_data(items, values.dtype.kind)
        parameters["content_type"] = content_type
    return {
        "name": name,
        "shape": shape,
        "datatype": datatype,
        "parameters": parameters,
        "data": data,
    }


def _bytes_data(items: list[Any], kind: str) -> tuple[list[Any], str]:
    """BYTES data as JSON values, and the content type a client decodes them with."""
    if kind == "M":
        return [None if v is None else _iso(v) for v in items], CT_DATETIME
    if all(v is None or isinstance(v, str) for v in items):
        return items, CT_STRING
    if all(v is None or isinstance(v, (bytes, bytearray)) for v in items):
        return [None if v is None else base64.b64encode(v).decode("ascii") for v in items], (
            CT_BASE64
        )
    if all(isinstance(v, (datetime.date, datetime.time)) for v in items):
        return [v.isoformat() for v in items], CT_DATETIME
    # Mixed or structured values (lists, dicts, numbers in an object column): JSON each.
    from .protocol import dumps

    return [dumps(v).decode("utf-8") for v in items], CT_PANDAS_JSON


def _iso(value: Any) -> str:
    import numpy as np

    if isinstance(value, int):  # datetime64[ns].tolist() gives nanoseconds since the epoch
        return str(np.datetime64(value, "ns"))
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return str(value)
