"""The Open Inference Protocol's datatypes and content types (for v2.py and v2_decode.py)."""

from __future__ import annotations

from typing import Any

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
