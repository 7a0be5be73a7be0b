"""Decoding Open Inference Protocol (KServe V2) requests: typed tensors to model input.

See ``v2.py`` for the rules (MLServer's codecs). :func:`parse_infer` is re-exported there.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Any

from .protocol import ProtocolError
from .v2_types import (
    _RESERVED_PARAMETERS,
    CT_BASE64,
    CT_DATETIME,
    CT_DICT,
    CT_NUMPY,
    CT_PANDAS,
    CT_PANDAS_JSON,
    DATATYPES,
    INPUT_CONTENT_TYPES,
    REQUEST_CONTENT_TYPES,
    datatype_of,
)


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
