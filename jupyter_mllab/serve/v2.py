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
import binascii
import datetime
import json
import math
from typing import Any

from .protocol import ProtocolError

PLATFORM = "mlflow"
SERVER_NAME = "mllab-serve"
DEFAULT_OUTPUT_PREFIX = "output-"
DEFAULT_INPUT_PREFIX = "input-"
# Request-level content types (MLServer's request codecs) and tensor-level ones.
CT_PANDAS = "pd"
CT_NUMPY = "np"
CT_DICT = "dict"
CT_STRING = "str"
CT_BASE64 = "base64"
CT_PANDAS_JSON = "pd_json"
CT_DATETIME = "datetime"
REQUEST_CONTENT_TYPES = (CT_PANDAS, CT_NUMPY, CT_DICT)
INPUT_CONTENT_TYPES = (CT_NUMPY, CT_STRING, CT_BASE64, CT_PANDAS_JSON, CT_DATETIME)
# Parameters of the protocol itself, not the model's params.
_RESERVED_PARAMETERS = ("content_type", "headers")

# V2 datatypes -> numpy dtype names (BYTES: Python objects; BF16 has no numpy type).
DATATYPES = {
    "BOOL": "bool",
    "UINT8": "uint8",
    "UINT16": "uint16",
    "UINT32": "uint32",
    "UINT64": "uint64",
    "INT8": "int8",
    "INT16": "int16",
    "INT32": "int32",
    "INT64": "int64",
    "FP16": "float16",
    "FP32": "float32",
    "FP64": "float64",
    "BYTES": "object",
}
_NUMPY_KINDS = {"b": "BOOL", "O": "BYTES", "U": "BYTES", "S": "BYTES", "M": "BYTES", "m": "BYTES"}


def datatype_of(dtype: Any) -> str:
    """The V2 datatype of a numpy dtype (objects, text, bytes and datetimes: BYTES)."""
    import numpy as np

    dtype = np.dtype(dtype)
    if dtype.kind in _NUMPY_KINDS:
        return _NUMPY_KINDS[dtype.kind]
    for datatype, name in DATATYPES.items():
        if dtype.name == name:
            return datatype
    return "BYTES"  # complex numbers and anything else: as text


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


# -- requests -------------------------------------------------------------------------------


def parse_infer(body: Any, spec: Any) -> tuple[Any, dict | None, str | None, list[str] | None]:
    """``(data, params, request_id, output_names)`` from a V2 inference request's JSON.

    ``spec`` is the model's :class:`~.protocol.InputSpec`: a column signature's dtypes
    (tensors are cast to them) or a tensor signature's dtype.
    """
    if not isinstance(body, dict):
        raise ProtocolError(
            f"The body must be a JSON object with 'inputs'; got a JSON {type(body).__name__}."
        )
    unknown = sorted(set(body) - {"id", "parameters", "inputs", "outputs"})
    if unknown:
        raise ProtocolError(
            f"Unknown fields {unknown}: an inference request has id, parameters, inputs, outputs."
        )
    request_id = body.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise ProtocolError("'id' must be a string.")
    parameters = _parameters(body.get("parameters"), "parameters")
    content_type = parameters.get("content_type")
    if content_type is not None and content_type not in REQUEST_CONTENT_TYPES:
        raise ProtocolError(
            f"'parameters.content_type' is '{content_type}': use one of "
            f"{', '.join(REQUEST_CONTENT_TYPES)}."
        )
    params = {k: v for k, v in parameters.items() if k not in _RESERVED_PARAMETERS} or None
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise ProtocolError("'inputs' must be a non-empty list of tensors.")
    tensors = [_tensor(item, f"inputs[{i}]", spec) for i, item in enumerate(inputs)]
    names = [tensor.name for tensor in tensors]
    if len(set(names)) != len(names):
        duplicate = next(name for name in names if names.count(name) > 1)
        raise ProtocolError(f"Two inputs are named '{duplicate}': each tensor needs its own name.")
    output_names = _output_names(body.get("outputs"))
    return _decode(tensors, content_type, spec), params, request_id, output_names


def _parameters(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ProtocolError(f"'{where}' must be a JSON object.")
    content_type = value.get("content_type")
    if content_type is not None and not isinstance(content_type, str):
        raise ProtocolError(f"'{where}.content_type' must be a string.")
    return value


def _output_names(value: Any) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise ProtocolError("'outputs' must be a list of {\"name\": ...} objects.")
    names = []
    for index, item in enumerate(value):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ProtocolError(f"'outputs[{index}].name' must be a string.")
        names.append(item["name"])
    return names


class _Tensor:
    """One decoded input tensor: its name, where it was in the request, its values."""

    def __init__(self, name: str, where: str, shape: list[int], datatype: str, values: Any):
        self.name = name
        self.where = where
        self.shape = shape
        self.datatype = datatype
        self.values = values  # an ndarray of `shape`


def _tensor(item: Any, where: str, spec: Any) -> _Tensor:
    import numpy as np

    if not isinstance(item, dict):
        raise ProtocolError(f"'{where}' must be a tensor object (name, shape, datatype, data).")
    for key in ("name", "shape", "datatype", "data"):
        if key not in item:
            raise ProtocolError(f"'{where}.{key}' is missing.")
    name, shape, datatype, data = item["name"], item["shape"], item["datatype"], item["data"]
    if not isinstance(name, str) or not name:
        raise ProtocolError(f"'{where}.name' must be a non-empty string.")
    where = f"{where} ('{name}')"
    if (
        not isinstance(shape, list)
        or not shape
        or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
    ):
        raise ProtocolError(f"'{where}.shape' must be a list of non-negative integers.")
    if datatype not in DATATYPES:
        raise ProtocolError(
            f"'{where}.datatype' is {datatype!r}: use one of {', '.join(DATATYPES)}."
        )
    content_type = _parameters(item.get("parameters"), f"{where}.parameters").get("content_type")
    if content_type is not None and content_type not in INPUT_CONTENT_TYPES:
        raise ProtocolError(
            f"'{where}.parameters.content_type' is '{content_type}': use one of "
            f"{', '.join(INPUT_CONTENT_TYPES)}."
        )
    flat = _flatten(data, f"{where}.data")
    expected = math.prod(shape)
    if len(flat) != expected:
        raise ProtocolError(
            f"'{where}.data' has {len(flat)} values; shape {shape} needs {expected}."
        )
    if datatype == "BYTES":
        flat = [_bytes_value(value, content_type, f"{where}.data") for value in flat]
        values = np.empty(len(flat), dtype=object)
        values[:] = flat
        if content_type == CT_DATETIME:
            try:
                values = values.astype("datetime64[ns]")
            except ValueError as exc:
                message = f"'{where}.data' holds a value that is not a date: {exc}."
                raise ProtocolError(message) from None
    else:
        values = _numeric(flat, datatype, f"{where}.data")
    return _Tensor(name, where, shape, datatype, values.reshape(shape))


def _flatten(data: Any, where: str) -> list[Any]:
    if not isinstance(data, list):
        return [data]  # one scalar (shape [1]), as MLServer accepts
    flat: list[Any] = []
    stack = [iter(data)]
    while stack:
        for value in stack[-1]:
            if isinstance(value, list):
                stack.append(iter(value))
                break
            if isinstance(value, dict):
                raise ProtocolError(f"'{where}' holds an object: tensor data are values.")
            flat.append(value)
        else:
            stack.pop()
    return flat


def _numeric(flat: list[Any], datatype: str, where: str) -> Any:
    import numpy as np

    dtype = DATATYPES[datatype]
    if datatype == "BOOL":
        if not all(isinstance(v, bool) or v in (0, 1) for v in flat):
            raise ProtocolError(f"'{where}' must hold true/false values for datatype BOOL.")
    elif any(isinstance(v, (str, bool)) for v in flat):
        bad = next(v for v in flat if isinstance(v, (str, bool)))
        raise ProtocolError(
            f"'{where}' holds {json.dumps(bad)}: datatype {datatype} needs numbers."
        )
    elif datatype[0] in "IU" and any(isinstance(v, float) and not v.is_integer() for v in flat):
        raise ProtocolError(f"'{where}' holds a fraction: datatype {datatype} needs integers.")
    try:
        if datatype[0] == "F":  # null is NaN, as MLServer writes NaN
            flat = [math.nan if v is None else v for v in flat]
        return np.array(flat, dtype=dtype)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ProtocolError(f"'{where}' cannot be read as {datatype}: {exc}.") from None


def _bytes_value(value: Any, content_type: str | None, where: str) -> Any:
    if value is None:
        return None
    if content_type == CT_PANDAS_JSON:
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise ProtocolError(f"'{where}' holds a value that is not JSON text.") from None
    if not isinstance(value, str):
        raise ProtocolError(f"'{where}' holds {json.dumps(value)}: datatype BYTES needs strings.")
    if content_type == CT_BASE64:
        try:
            return base64.b64decode(value, validate=True)
        except binascii.Error:
            raise ProtocolError(f"'{where}' holds a value that is not base64.") from None
    return value


def _decode(tensors: list[_Tensor], content_type: str | None, spec: Any) -> Any:
    columns: dict[str, Any] = dict(getattr(spec, "columns", None) or {})
    tensor_dtype = getattr(spec, "tensor_dtype", None)
    if content_type is None:
        if columns:
            content_type = CT_PANDAS
        elif tensor_dtype is not None:
            content_type = CT_NUMPY if len(tensors) == 1 else CT_DICT
        else:
            content_type = CT_NUMPY if len(tensors) == 1 else CT_PANDAS
    if content_type == CT_PANDAS:
        return _frame(tensors, columns)
    arrays = {t.name: _cast_tensor(t, tensor_dtype or columns.get(t.name)) for t in tensors}
    if content_type == CT_NUMPY:
        if len(tensors) != 1:
            raise ProtocolError(
                f"Content type 'np' takes one input tensor; got {len(tensors)}: use 'pd' or "
                "'dict' for several."
            )
        return arrays[tensors[0].name]
    return arrays


def _frame(tensors: list[_Tensor], columns: dict[str, Any]) -> Any:
    import pandas as pd

    if columns:
        unknown = [t for t in tensors if t.name not in columns]
        if unknown:
            raise ProtocolError(
                f"'{unknown[0].where}' is not an input of this model: its inputs are "
                f"{', '.join(columns)}."
            )
    rows = {t.shape[0] for t in tensors}
    if len(rows) > 1:
        raise ProtocolError(
            "The input tensors have different numbers of rows "
            f"({', '.join(f'{t.name}: {t.shape[0]}' for t in tensors)}): each is a column."
        )
    data = {}
    for tensor in tensors:
        values = tensor.values
        if values.ndim == 1 or (values.ndim == 2 and values.shape[1] == 1):
            values = values.reshape(-1)
            data[tensor.name] = pd.Series(_cast_tensor(tensor, columns.get(tensor.name), values))
        else:  # a column of arrays, one per row
            data[tensor.name] = pd.Series(list(values))
    return pd.DataFrame(data)


def _cast_tensor(tensor: _Tensor, target: Any, values: Any = None) -> Any:
    """``values`` (the tensor's own by default) as the signature's dtype, where it is safe."""
    import numpy as np

    values = tensor.values if values is None else values
    if target is None:
        return values
    target = np.dtype(target)
    source = values.dtype
    if source == target:
        return values
    if target.kind == "O":
        if tensor.datatype == "BYTES":
            return values
        raise ProtocolError(
            f"'{tensor.where}' is {tensor.datatype}: the model's signature wants text (BYTES)."
        )
    if target.kind == "M" and source.kind == "M":
        return values.astype(target)
    # int -> float and narrower -> wider are safe, as MLflow's signature enforcement allows.
    if source.kind != "O" and np.can_cast(source, target, casting="same_kind"):
        return values.astype(target)
    raise ProtocolError(
        f"'{tensor.where}' is {tensor.datatype}: the model's signature wants "
        f"{datatype_of(target)} ({target.name})."
    )


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
