"""MLflow's scoring protocol: request bodies in, ``{"predictions": ...}`` out.

The shapes are those ``mlflow models serve`` accepts (``mlflow/pyfunc/scoring_server``),
implemented here on pandas and numpy so that a model can be served without flask or
uvicorn: a JSON object with exactly one of ``dataframe_split``, ``dataframe_records``,
``instances`` or ``inputs`` (and optionally ``params``), or a CSV text. Column types come
from the model's input signature, read once at load (:class:`InputSpec`); the model's own
``predict`` then enforces the signature, as MLflow's server relies on it to.

No HTTP here (``server.py`` does that) and nothing from the rest of jupyter_mllab: this
package is copied into model bundles and runs where jupyter_mllab is not installed.
"""

from __future__ import annotations

import base64
import datetime
import io
import json
import math
from dataclasses import dataclass, field
from typing import Any

CONTENT_TYPE_JSON = "application/json"
CONTENT_TYPE_CSV = "text/csv"
CONTENT_TYPES = (CONTENT_TYPE_JSON, CONTENT_TYPE_CSV)

DF_SPLIT = "dataframe_split"
DF_RECORDS = "dataframe_records"
INSTANCES = "instances"
INPUTS = "inputs"
PARAMS = "params"
INPUT_FIELDS = (DF_SPLIT, DF_RECORDS, INSTANCES, INPUTS)


class ProtocolError(Exception):
    """A request the protocol cannot read: an HTTP status, MLflow's error code, a message."""

    def __init__(self, message: str, *, status: int = 400, error_code: str = "BAD_REQUEST"):
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_code = error_code

    def to_json(self) -> dict[str, str]:
        return {"error_code": self.error_code, "message": self.message}


@dataclass(frozen=True)
class InputSpec:
    """What parsing needs from a model's input signature, worked out once at load.

    ``columns`` maps each named column of a column-based signature to the numpy dtype
    its values are cast to (``None`` for types that are not plain scalars: arrays,
    objects, maps, any); ``tensor_dtype`` is the dtype of a one-tensor signature.
    """

    columns: dict[str, Any] = field(default_factory=dict)
    tensor_dtype: Any = None
    # Requests of a column signature whose every column is a plain scalar can be stacked
    # into one frame: each column is cast to its type, whatever the request sent.
    batchable: bool = False
    # Every column a double (most tabular models): a table of rows is one float array.
    all_float: bool = False

    @classmethod
    def from_schema(cls, schema: Any) -> InputSpec:
        """From an ``mlflow.types.Schema`` (or ``None``: no signature, nothing is cast)."""
        if schema is None:
            return cls()
        if schema.is_tensor_spec():
            types = schema.numpy_types()
            dtype = types[0] if len(types) == 1 else None
            return cls(tensor_dtype=dtype, batchable=dtype is not None)
        from mlflow.types import DataType

        columns: dict[str, Any] = {}
        if schema.has_input_names():
            for spec in schema.inputs:
                scalar = isinstance(spec.type, DataType) and spec.type not in (
                    DataType.binary,
                    DataType.datetime,
                )
                columns[spec.name] = spec.type.to_pandas() if scalar else None
        batchable = bool(columns) and all(dtype is not None for dtype in columns.values())
        all_float = batchable and all(str(dtype) == "float64" for dtype in columns.values())
        return cls(columns=columns, batchable=batchable, all_float=all_float)


def parse_content_type(header: str | None) -> str:
    """The media type of a ``Content-Type`` header; 415 for charsets other than UTF-8."""
    media, *parameters = (part.strip() for part in (header or "").split(";"))
    for parameter in filter(None, parameters):  # "application/json;" has an empty one
        key, _, value = parameter.partition("=")
        if key.strip().lower() != "charset" or value.strip().strip('"').lower() != "utf-8":
            raise ProtocolError(
                f"Unsupported content type parameter '{parameter}': only charset=utf-8 is read.",
                status=415,
                error_code="UNSUPPORTED_MEDIA_TYPE",
            )
    media = media.lower()
    if media not in CONTENT_TYPES:
        raise ProtocolError(
            f"Unsupported content type '{header or ''}': send one of {', '.join(CONTENT_TYPES)}.",
            status=415,
            error_code="UNSUPPORTED_MEDIA_TYPE",
        )
    return media


def parse_request(body: bytes, media_type: str, spec: InputSpec) -> tuple[Any, dict | None]:
    """``(data, params)`` for ``model.predict`` from a request body of ``media_type``."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"The body is not valid UTF-8: {exc}.") from None
    if media_type == CONTENT_TYPE_CSV:
        return parse_csv(text, spec), None
    return parse_json(text, spec)


def parse_csv(text: str, spec: InputSpec) -> Any:
    import pandas as pd

    dtypes = {name: dtype for name, dtype in spec.columns.items() if dtype is not None}
    try:
        return pd.read_csv(io.StringIO(text), dtype=dtypes or None)
    except Exception as exc:  # pandas raises several types for a malformed CSV
        raise ProtocolError(f"The body is not a CSV table pandas can read: {exc}") from None


def parse_json(text: str, spec: InputSpec) -> tuple[Any, dict | None]:
    key, value, params = read_payload(text)
    return build_input(key, value, spec), params


def build_input(key: str, value: Any, spec: InputSpec) -> Any:
    """The model input of one request's ``key`` field (``dataframe_split``, ...)."""
    if key == DF_SPLIT:
        return _dataframe_split(value, spec)
    if key == DF_RECORDS:
        return _dataframe_records(value, spec)
    if key == INSTANCES:
        return _instances(value, spec)
    return _inputs(value, spec)


def read_payload(text: str | bytes) -> tuple[str, Any, dict | None]:
    """``(field, value, params)`` of a JSON scoring request: its shape checked, no pandas yet."""
    try:
        payload = json.loads(text)
    except ValueError as exc:
        raise ProtocolError(f"The body is not valid JSON: {exc}.") from None
    if not isinstance(payload, dict):
        raise ProtocolError(
            f"The body must be a JSON object with exactly one of {', '.join(INPUT_FIELDS)}; "
            f"got a JSON {type(payload).__name__}."
        )
    fields = [key for key in INPUT_FIELDS if key in payload]
    unknown = sorted(set(payload) - set(INPUT_FIELDS) - {PARAMS})
    if len(fields) != 1 or unknown:
        raise ProtocolError(
            f"The body must be a JSON object with exactly one of {', '.join(INPUT_FIELDS)} "
            f"(and optionally '{PARAMS}'); got the fields {sorted(payload)}."
        )
    params = payload.get(PARAMS)
    if params is not None and not isinstance(params, dict):
        raise ProtocolError(f"'{PARAMS}' must be a JSON object of parameter values.")
    return fields[0], payload[fields[0]], params


def split_frame(columns: list[str], rows: list[Any], spec: InputSpec) -> Any:
    """The frame of ``rows`` (lists in ``columns``' order), cast to the signature's types."""
    import pandas as pd

    if spec.all_float and all(name in spec.columns for name in columns):
        # One float array, one block: what casting each column to double gives, at a
        # fraction of the cost. Anything it cannot read takes the per-column way below,
        # which names the column.
        import numpy as np

        try:
            values = np.array(rows, dtype=np.float64)
        except (TypeError, ValueError):
            pass
        else:
            if values.ndim == 2 and values.shape[1] == len(columns):
                return pd.DataFrame(values, columns=columns)
    try:
        frame = pd.DataFrame(data=rows, columns=columns)
    except Exception as exc:
        raise ProtocolError(f"'{DF_SPLIT}' is not a table in pandas' split form: {exc}") from None
    return _cast_frame(frame, spec)


def _dataframe_split(value: Any, spec: InputSpec) -> Any:
    import pandas as pd

    if not isinstance(value, dict) or "data" not in value:
        raise ProtocolError(f"'{DF_SPLIT}' must be an object with 'data' (and 'columns', 'index').")
    extra = sorted(set(value) - {"columns", "data", "index"})
    if extra:
        raise ProtocolError(f"'{DF_SPLIT}' has unknown fields {extra}: use columns, data, index.")
    columns, data = value.get("columns"), value["data"]
    if "index" not in value and isinstance(columns, list) and isinstance(data, list):
        return split_frame(columns, data, spec)
    try:
        frame = pd.DataFrame(
            data=value["data"], columns=value.get("columns"), index=value.get("index")
        )
    except Exception as exc:
        raise ProtocolError(f"'{DF_SPLIT}' is not a table in pandas' split form: {exc}") from None
    return _cast_frame(frame, spec)


def _dataframe_records(value: Any, spec: InputSpec) -> Any:
    import pandas as pd

    if not isinstance(value, list):
        raise ProtocolError(f"'{DF_RECORDS}' must be a list of records (JSON objects).")
    try:
        frame = pd.DataFrame(data=value)
    except Exception as exc:
        raise ProtocolError(f"'{DF_RECORDS}' is not a list of records: {exc}") from None
    return _cast_frame(frame, spec)


def _cast_frame(frame: Any, spec: InputSpec) -> Any:
    names = spec.columns
    if spec.tensor_dtype is not None:
        names = {column: spec.tensor_dtype for column in frame.columns}
    for name, dtype in names.items():
        if dtype is None or name not in frame.columns:
            continue  # missing columns are the signature's to name, in predict
        if spec.tensor_dtype is not None and len(frame) and isinstance(frame[name].iloc[0], list):
            continue  # a column of tensors: predict's signature check converts it
        try:
            frame[name] = frame[name].astype(dtype)
        except Exception as exc:
            raise ProtocolError(
                f"Column '{name}' cannot be read as {dtype} (the model's signature): {exc}"
            ) from None
    return frame


def _instances(value: Any, spec: InputSpec) -> Any:
    import numpy as np

    if isinstance(value, list) and value and all(isinstance(row, dict) for row in value):
        # Rows of named values become one array per name, as TF serving's row format.
        columns: dict[str, list[Any]] = {}
        for row in value:
            for name, item in row.items():
                columns.setdefault(name, []).append(item)
        lengths = {len(items) for items in columns.values()}
        if len(lengths) > 1:
            raise ProtocolError(f"Every record of '{INSTANCES}' must have the same fields.")
        return {
            name: _array(items, spec.columns.get(name), name) for name, items in columns.items()
        }
    data = _inputs(value, spec)
    if isinstance(data, dict):
        lengths = {
            len(item) for item in data.values() if isinstance(item, np.ndarray) and item.ndim
        }
        if len(lengths) > 1:
            raise ProtocolError(f"The inputs of '{INSTANCES}' must all have the same length.")
    return data


def _inputs(value: Any, spec: InputSpec) -> Any:
    if isinstance(value, dict):
        return {name: _array(item, spec.columns.get(name), name) for name, item in value.items()}
    if len(spec.columns) == 1 and isinstance(value, list):
        # One named input: a plain list is that input's values.
        ((name, dtype),) = spec.columns.items()
        return {name: _array(value, dtype, name)}
    first = next(iter(spec.columns.values()), None)
    return _array(value, spec.tensor_dtype if spec.tensor_dtype is not None else first, INPUTS)


def _array(value: Any, dtype: Any, name: str) -> Any:
    import numpy as np

    try:
        return np.array(value, dtype=dtype) if dtype is not None else np.array(value)
    except Exception as exc:
        raise ProtocolError(f"'{name}' cannot be read as an array of {dtype}: {exc}") from None


def jsonable(predictions: Any) -> Any:
    """Predictions as JSON values: arrays as lists, frames as records (MLflow's choice)."""
    import numpy as np
    import pandas as pd

    if isinstance(predictions, np.ndarray):
        return predictions.tolist()
    if isinstance(predictions, pd.DataFrame):
        return predictions.to_dict(orient="records")
    if isinstance(predictions, pd.Series):
        return pd.DataFrame(predictions).to_dict(orient="records")
    return predictions


def _encode_default(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, (datetime.date, datetime.time)):  # also pandas' Timestamp
        return value.isoformat()
    if isinstance(value, np.datetime64):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _strict(value: Any) -> Any:
    """NaN and infinities as null: the response is strict JSON that any client reads."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_strict(item) for item in value]
    if isinstance(value, dict):
        return {key: _strict(item) for key, item in value.items()}
    return value


def dumps(document: Any) -> bytes:
    """JSON bytes of a response document (numpy scalars, bytes, dates included)."""
    try:
        text = json.dumps(document, default=_encode_default, allow_nan=False)
    except ValueError:  # a NaN or an infinity somewhere: rare, so only then walk it
        text = json.dumps(_strict(json.loads(json.dumps(document, default=_encode_default))))
    return text.encode("utf-8")


def predictions_body(predictions: Any) -> bytes:
    return dumps({"predictions": jsonable(predictions)})
