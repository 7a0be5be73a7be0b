"""The OpenAPI 3.1 document of a model service, generated from the model's signature.

``GET /openapi.json`` serves :func:`openapi_document`: MLflow's scoring protocol
(``POST /invocations`` with each request shape, JSON and CSV), the Open Inference
Protocol (``/v2/...``), health, metrics. Request and response schemas carry the
signature's real column names and types (JSON Schema 2020-12, as OpenAPI 3.1 has it), and
the model's input example is the example of every request shape, so that the API page's
"Try it out" predicts at once.

The server is ``"."``: relative to where the document was fetched, so that the API page
works on the service itself and through the lab's proxy prefix alike.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any
from urllib.parse import quote

from .openapi_schemas import REF as _REF
from .openapi_schemas import columns_of, scoring_schemas, v2_schemas
from .v2 import model_metadata

OPENAPI_VERSION = "3.1.0"
_EXAMPLE_ROWS = 5  # an input example of many rows is cut to its first few


def openapi_document(
    model_name: str,
    input_schema: Any,
    output_schema: Any,
    input_example: Any,
    model_key: str | None,
) -> dict[str, Any]:
    """The document for a model named ``model_name`` (``/v2/models/<name>``).

    The schemas are ``mlflow.types.Schema`` (or ``None``: any JSON). ``input_example`` is
    the model's (a DataFrame, a ``{"columns", "data"}`` split, records, a dict of columns,
    an array) or ``None``: then one made from the signature's types stands in.
    """
    columns = columns_of(input_schema)
    example = _split_example(input_example, columns) or _made_up_example(input_schema)
    tensor_input = input_schema is not None and input_schema.is_tensor_spec()
    schemas = {
        "Params": {
            "type": "object",
            "description": "Parameters passed to the model's predict (its signature's params).",
        },
        "Error": {
            "type": "object",
            "required": ["error_code", "message"],
            "properties": {"error_code": {"type": "string"}, "message": {"type": "string"}},
        },
        **scoring_schemas(input_schema, output_schema, columns, tensor_input),
        **v2_schemas(model_name, input_schema),
    }
    v2_path = f"/v2/models/{quote(model_name, safe='')}"
    description = (
        f"Model service of **{model_key or model_name}**: MLflow's scoring protocol "
        "(`POST /invocations`) and the Open Inference Protocol (KServe V2, `/v2/...`). "
        "Direct calls need the service's token (`Authorization: Bearer ...`) when it has one; "
        "through JupyterLab's proxy they need none."
    )
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": f"{model_name} model service",
            "version": str(model_key or model_name),
            "description": description,
        },
        "servers": [{"url": ".", "description": "this service (relative to this document)"}],
        "security": [{}, {"bearerToken": []}],
        "tags": [
            {"name": "MLflow scoring", "description": "MLflow's `mlflow models serve` protocol"},
            {"name": "Open Inference (V2)", "description": "KServe V2, as MLServer and Triton"},
            {"name": "Health"},
            {"name": "Service"},
        ],
        "paths": {
            "/invocations": {"post": _invocations(example, tensor_input, columns)},
            f"{v2_path}/infer": {"post": _v2_infer(model_name, input_schema, example)},
            v2_path: {"get": _v2_get("The model's metadata: its input and output tensors.")},
            f"{v2_path}/ready": _health("Whether the model is ready.", "Open Inference (V2)"),
            "/v2": {"get": _v2_get("The server's metadata.", "MetadataServerResponse")},
            "/v2/health/live": _health("Whether the server is live.", "Open Inference (V2)"),
            "/v2/health/ready": _health(
                "Whether the model is loaded and warmed up.", "Open Inference (V2)"
            ),
            "/ping": _health("200 once the model is loaded and warmed up, 503 before."),
            "/health": _health("200 once the model is loaded and warmed up, 503 before."),
            "/version": {
                "get": {
                    "tags": ["Service"],
                    "summary": "The MLflow version serving the model.",
                    "security": [],
                    "responses": {"200": _text("The version.")},
                }
            },
            "/metrics": {
                "get": {
                    "tags": ["Service"],
                    "summary": "Request metrics in Prometheus' text format.",
                    "responses": {"200": _text("Prometheus text format 0.0.4.")},
                }
            },
            "/mllab/stats": {
                "get": {
                    "tags": ["Service"],
                    "summary": "Request counts, latency percentiles, the last requests.",
                    "responses": {"200": _json({"type": "object"}, "The statistics.")},
                }
            },
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearerToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The service's token (MLLAB_SERVICE_TOKEN).",
                }
            },
        },
    }


def _v2_infer(model_name: str, input_schema: Any, example: Any) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "tags": ["Open Inference (V2)"],
        "summary": "Predict on typed tensors (one per column for a column signature).",
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"{_REF}InferenceRequest"}}},
        },
        "responses": {
            "200": _json({"$ref": f"{_REF}InferenceResponse"}, "The output tensors.", lineage=True),
            **_errors(),
        },
    }
    v2_example = _v2_example(model_name, input_schema, example)
    if v2_example is not None:
        operation["requestBody"]["content"]["application/json"]["example"] = v2_example
    return operation


def _v2_example(model_name: str, input_schema: Any, example: Any) -> dict[str, Any] | None:
    if example is None:
        return None
    columns, rows = example
    if not columns:  # a tensor: one input
        inputs = model_metadata(model_name, None, input_schema, None)["inputs"]
        import numpy as np

        values = np.asarray(rows)
        datatype = inputs[0]["datatype"] if inputs else _datatype_of_values(values)
        name = inputs[0]["name"] if inputs else "input-0"
        shape = list(values.shape) if values.ndim > 1 else [len(values), 1]
        return {
            "inputs": [
                {
                    "name": name,
                    "shape": shape,
                    "datatype": datatype,
                    "data": values.reshape(-1).tolist(),
                }
            ]
        }
    declared = {
        t["name"]: t for t in model_metadata(model_name, None, input_schema, None)["inputs"]
    }
    tensors = []
    for index, name in enumerate(columns):
        column = [row[index] for row in rows]
        tensor_: dict[str, Any] = {
            "name": name,
            "shape": [len(column), 1],
            "datatype": declared.get(name, {}).get("datatype") or _datatype_of_list(column),
            "data": column,
        }
        content_type = declared.get(name, {}).get("parameters", {}).get("content_type")
        if content_type and content_type != "np":
            tensor_["parameters"] = {"content_type": content_type}
        tensors.append(tensor_)
    return {"parameters": {"content_type": "pd"}, "inputs": tensors}


def _datatype_of_list(values: list[Any]) -> str:
    if all(isinstance(v, bool) for v in values):
        return "BOOL"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "INT64"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "FP64"
    return "BYTES"


def _datatype_of_values(values: Any) -> str:
    from .v2 import datatype_of

    return datatype_of(values.dtype)


# -- examples -------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    from .protocol import dumps

    return json.loads(dumps(value))


def _split_example(example: Any, columns: list[tuple[str, dict[str, Any], bool]]) -> Any:
    """``(column names, rows)`` of an input example; ``([], array)`` for a tensor."""
    if example is None:
        return None
    import numpy as np
    import pandas as pd

    if (
        isinstance(example, dict)
        and "data" in example
        and set(example)
        <= {
            "columns",
            "data",
            "index",
        }
    ):
        frame = pd.DataFrame(example["data"], columns=example.get("columns"))
    elif isinstance(example, pd.DataFrame):
        frame = example
    elif isinstance(example, dict):
        try:
            frame = pd.DataFrame(example)
        except ValueError:  # scalars: one row
            frame = pd.DataFrame([example])
    elif isinstance(example, list) and example and all(isinstance(r, dict) for r in example):
        frame = pd.DataFrame(example)
    elif isinstance(example, (list, np.ndarray)):
        return [], _jsonable(np.asarray(example)[:_EXAMPLE_ROWS])
    else:
        return None
    frame = frame.head(_EXAMPLE_ROWS)
    names = [str(name) for name in frame.columns]
    return names, _jsonable(frame.to_numpy().tolist())


def _made_up_example(schema: Any) -> Any:
    """One row of plausible values when the model has no input example."""
    if schema is None:
        return None
    if schema.is_tensor_spec():
        import numpy as np

        spec = schema.inputs[0]
        shape = [1 if size < 0 else size for size in spec.shape]
        return [], np.zeros(shape, dtype=spec.type).tolist()
    samples = {
        "boolean": True,
        "integer": 0,
        "long": 0,
        "float": 0.0,
        "double": 0.0,
        "string": "text",
        "binary": "",
        "datetime": "2026-01-01T00:00:00",
    }
    names = [spec.name or str(i) for i, spec in enumerate(schema.inputs)]
    row = [samples.get(getattr(spec.type, "name", "")) for spec in schema.inputs]
    return names, [row]


def _csv(columns: list[str], rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()


# -- operations -----------------------------------------------------------------------------


def _invocations(example: Any, tensor_input: bool, columns: list[Any]) -> dict[str, Any]:
    json_body: dict[str, Any] = {"schema": {"$ref": f"{_REF}ScoringRequest"}}
    content: dict[str, Any] = {"application/json": json_body}
    if example is not None:
        names, rows = example
        if names:
            records = [dict(zip(names, row, strict=True)) for row in rows]
            inputs = {name: [row[i] for row in rows] for i, name in enumerate(names)}
            split = {"columns": names, "data": rows}
            json_body["examples"] = {
                "dataframe_split": {"value": {"dataframe_split": split}},
                "dataframe_records": {"value": {"dataframe_records": records}},
                "instances": {"value": {"instances": records}},
                "inputs": {"value": {"inputs": inputs}},
            }
            content["text/csv"] = {
                "schema": {"type": "string", "description": "A CSV table with a header row."},
                "example": _csv(names, rows),
            }
        else:
            json_body["examples"] = {
                "inputs": {"value": {"inputs": rows}},
                "instances": {"value": {"instances": rows}},
            }
    if "text/csv" not in content and not tensor_input:
        content["text/csv"] = {"schema": {"type": "string"}}
    return {
        "tags": ["MLflow scoring"],
        "summary": "Predict (MLflow's scoring protocol).",
        "description": (
            "A JSON object with exactly one of `dataframe_split`, `dataframe_records`, "
            "`instances`, `inputs` (and optionally `params`), or a CSV table."
            + (f" Input columns: {', '.join(f'`{c[0]}`' for c in columns)}." if columns else "")
        ),
        "requestBody": {"required": True, "content": content},
        "responses": {
            "200": _json({"$ref": f"{_REF}Predictions"}, "The predictions.", lineage=True),
            **_errors(),
        },
    }


def _errors() -> dict[str, Any]:
    error = {"$ref": f"{_REF}Error"}
    return {
        "400": _json(error, "Bad input: malformed, or not matching the signature."),
        "401": _json(error, "No or a wrong token."),
        "413": _json(error, "The body is over the service's limit."),
        "415": _json(error, "Unsupported content type."),
        "500": _json(error, "The model failed (the service's log has the details)."),
        "503": _json(error, "The model is not loaded yet."),
    }


def _json(schema: dict[str, Any], description: str, *, lineage: bool = False) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }
    if lineage:
        response["headers"] = {
            "X-MLLab-Model": {
                "description": "The model version that answered (e.g. demo/wine@3).",
                "schema": {"type": "string"},
            },
            "X-MLLab-Run": {
                "description": "The MLflow run that made the model.",
                "schema": {"type": "string"},
            },
        }
    return response


def _text(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"text/plain": {"schema": {"type": "string"}}}}


def _health(summary: str, tag: str = "Health") -> dict[str, Any]:
    return {
        "get": {
            "tags": [tag],
            "summary": summary,
            "security": [],
            "responses": {
                "200": {"description": "Ready (or live)."},
                "503": {"description": "Not ready yet."},
            },
        }
    }


def _v2_get(summary: str, schema: str = "MetadataModelResponse") -> dict[str, Any]:
    return {
        "tags": ["Open Inference (V2)"],
        "summary": summary,
        "responses": {"200": _json({"$ref": f"{_REF}{schema}"}, summary)},
    }
