"""JSON schemas (2020-12, as OpenAPI 3.1 has them) of a model's signature, for ``openapi.py``.

MLflow's column types (scalars, ``Array``, ``Object``, ``Map``, any) and tensor specs as JSON
schemas; the request shapes of MLflow's scoring protocol with the signature's real column
names; the Open Inference Protocol's messages with the signature's inputs.
"""

from __future__ import annotations

from typing import Any

from .v2 import DATATYPES, model_metadata

REF = "#/components/schemas/"


_SCALARS: dict[str, dict[str, Any]] = {
    "boolean": {"type": "boolean"},
    "integer": {"type": "integer", "format": "int32"},
    "long": {"type": "integer", "format": "int64"},
    "float": {"type": "number", "format": "float"},
    "double": {"type": "number", "format": "double"},
    "string": {"type": "string"},
    "binary": {"type": "string", "contentEncoding": "base64"},
    "datetime": {"type": "string", "format": "date-time"},
}


def type_schema(kind: Any) -> dict[str, Any]:
    """The JSON schema of one MLflow type: a ``DataType``, ``Array``, ``Object``, ``Map``, any."""
    from mlflow.types import DataType
    from mlflow.types.schema import AnyType, Array, Map, Object

    if isinstance(kind, DataType):
        return dict(_SCALARS[kind.name])
    if isinstance(kind, Array):
        return {"type": "array", "items": type_schema(kind.dtype)}
    if isinstance(kind, Object):
        return {
            "type": "object",
            "properties": {
                p.name: _optional(type_schema(p.dtype), p.required) for p in kind.properties
            },
            "required": [p.name for p in kind.properties if p.required],
        }
    if isinstance(kind, Map):
        return {"type": "object", "additionalProperties": type_schema(kind.value_type)}
    if isinstance(kind, AnyType):
        return {}
    return {}


def _optional(schema: dict[str, Any], required: bool) -> dict[str, Any]:
    if required:
        return schema
    if isinstance(schema.get("type"), str):
        return {**schema, "type": [schema["type"], "null"]}
    return {"anyOf": [schema, {"type": "null"}]} if schema else schema


def _tensor_schema(spec: Any, drop_batch: bool = False) -> dict[str, Any]:
    import numpy as np

    dtype = np.dtype(spec.type)
    item: dict[str, Any] = (
        {"type": "boolean"}
        if dtype.kind == "b"
        else {"type": "integer"}
        if dtype.kind in "iu"
        else {"type": "number"}
        if dtype.kind == "f"
        else {"type": "string"}
    )
    shape = list(spec.shape)[1:] if drop_batch else list(spec.shape)
    for size in reversed(shape):
        item = {"type": "array", "items": item}
        if size >= 0:
            item |= {"minItems": size, "maxItems": size}
    return item


def columns_of(schema: Any) -> list[tuple[str, dict[str, Any], bool]]:
    """``[(name, JSON schema, required)]`` of a column signature with names; else ``[]``."""
    if schema is None or schema.is_tensor_spec() or not schema.has_input_names():
        return []
    return [(spec.name, type_schema(spec.type), spec.required) for spec in schema.inputs]


def scoring_schemas(
    input_schema: Any,
    output_schema: Any,
    columns: list[tuple[str, dict[str, Any], bool]],
    tensor_input: bool,
) -> dict[str, Any]:
    if columns:
        row: dict[str, Any] = {
            "type": "object",
            "description": "One row: a value for each input column.",
            "properties": {name: _optional(schema, required) for name, schema, required in columns},
            "required": [name for name, _, required in columns if required],
        }
        split = {
            "type": "object",
            "required": ["data"],
            "properties": {
                "columns": {
                    "type": "array",
                    "items": {"type": "string", "enum": [name for name, _, _ in columns]},
                },
                "index": {"type": "array"},
                "data": {
                    "type": "array",
                    "description": "Rows, each a list of values in the order of 'columns'.",
                    "items": {
                        "type": "array",
                        "prefixItems": [_optional(s, r) for _, s, r in columns],
                        "minItems": len(columns),
                        "maxItems": len(columns),
                    },
                },
            },
        }
        table = {
            "type": "object",
            "description": "Columns: a list of values for each input column.",
            "properties": {
                name: {"type": "array", "items": _optional(schema, required)}
                for name, schema, required in columns
            },
            "required": [name for name, _, required in columns if required],
        }
        instances: dict[str, Any] = {"type": "array", "items": {"$ref": f"{REF}Row"}}
        inputs: dict[str, Any] = {"oneOf": [{"$ref": f"{REF}Columns"}, instances]}
        shapes = {"Row": row, "DataframeSplit": split, "Columns": table}
    else:
        tensor = (
            _tensor_schema(input_schema.inputs[0]) if tensor_input and input_schema.inputs else {}
        )
        split = {
            "type": "object",
            "required": ["data"],
            "properties": {"columns": {"type": "array"}, "index": {"type": "array"}, "data": {}},
        }
        instances, inputs = tensor or {"type": "array"}, tensor
        shapes = {"DataframeSplit": split}

    def request(field: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": [field],
            "properties": {field: schema, "params": {"$ref": f"{REF}Params"}},
            "additionalProperties": False,
        }

    records = {"type": "array", "items": {"$ref": f"{REF}Row"}} if columns else {"type": "array"}
    return {
        **shapes,
        "ScoringRequest": {
            "description": "Exactly one of dataframe_split, dataframe_records, instances, inputs.",
            "oneOf": [
                request("dataframe_split", {"$ref": f"{REF}DataframeSplit"}),
                request("dataframe_records", records),
                request("instances", instances),
                request("inputs", inputs),
            ],
        },
        "Predictions": {
            "type": "object",
            "required": ["predictions"],
            "properties": {"predictions": _predictions(output_schema)},
        },
    }


def _predictions(schema: Any) -> dict[str, Any]:
    if schema is None:
        return {"description": "The model's predictions."}
    if schema.is_tensor_spec():
        if len(schema.inputs) == 1:
            return _tensor_schema(schema.inputs[0])
        return {
            "type": "object",
            "properties": {
                (s.name or str(i)): _tensor_schema(s) for i, s in enumerate(schema.inputs)
            },
        }
    if len(schema.inputs) == 1:
        spec = schema.inputs[0]
        one = type_schema(spec.type)
        if not spec.name:
            return {"type": "array", "items": one}
        # A named column comes back as values or as records, as the model returns it.
        return {"anyOf": [{"type": "array", "items": one}, _records([spec])]}
    return _records(schema.inputs)


def _records(specs: list[Any]) -> dict[str, Any]:
    return {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                (s.name or str(i)): _optional(type_schema(s.type), s.required)
                for i, s in enumerate(specs)
            },
        },
    }


def v2_schemas(model_name: str, input_schema: Any) -> dict[str, Any]:
    parameters = {
        "type": "object",
        "properties": {"content_type": {"type": "string"}, "headers": {"type": "object"}},
        "additionalProperties": True,
    }
    datatype = {"type": "string", "enum": list(DATATYPES)}
    tensor = {
        "type": "object",
        "required": ["name", "shape", "datatype", "data"],
        "properties": {
            "name": {"type": "string"},
            "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
            "datatype": {"$ref": f"{REF}Datatype"},
            "parameters": {"$ref": f"{REF}Parameters"},
            "data": {"description": "The values, flat (row-major) or nested."},
        },
    }
    metadata_tensor = {
        "type": "object",
        "required": ["name", "datatype", "shape"],
        "properties": {
            "name": {"type": "string"},
            "datatype": {"$ref": f"{REF}Datatype"},
            "shape": {"type": "array", "items": {"type": "integer"}},
            "parameters": {"$ref": f"{REF}Parameters"},
        },
    }
    inputs = model_metadata(model_name, None, input_schema, None)["inputs"]
    request_input: dict[str, Any] = {"$ref": f"{REF}Tensor"}
    if inputs:  # each input named as the signature has it, with its datatype
        request_input = {
            "oneOf": [
                {
                    "allOf": [
                        {"$ref": f"{REF}Tensor"},
                        {
                            "properties": {
                                "name": {"const": tensor_["name"]},
                                "datatype": {"description": f"{tensor_['datatype']} expected"},
                            }
                        },
                    ]
                }
                for tensor_ in inputs
            ]
        }
    return {
        "Datatype": datatype,
        "Parameters": parameters,
        "Tensor": tensor,
        "InferenceRequest": {
            "type": "object",
            "required": ["inputs"],
            "properties": {
                "id": {"type": "string"},
                "parameters": {"$ref": f"{REF}Parameters"},
                "inputs": {"type": "array", "minItems": 1, "items": request_input},
                "outputs": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["name"],
                        "properties": {"name": {"type": "string"}},
                    },
                },
            },
        },
        "InferenceResponse": {
            "type": "object",
            "required": ["model_name", "outputs"],
            "properties": {
                "model_name": {"type": "string"},
                "model_version": {"type": "string"},
                "id": {"type": "string"},
                "parameters": {"$ref": f"{REF}Parameters"},
                "outputs": {"type": "array", "items": {"$ref": f"{REF}Tensor"}},
            },
        },
        "MetadataModelResponse": {
            "type": "object",
            "required": ["name", "platform"],
            "properties": {
                "name": {"type": "string"},
                "versions": {"type": "array", "items": {"type": "string"}},
                "platform": {"type": "string"},
                "inputs": {"type": "array", "items": {"$ref": f"{REF}MetadataTensor"}},
                "outputs": {"type": "array", "items": {"$ref": f"{REF}MetadataTensor"}},
                "parameters": {"$ref": f"{REF}Parameters"},
            },
        },
        "MetadataTensor": metadata_tensor,
        "MetadataServerResponse": {
            "type": "object",
            "required": ["name", "version", "extensions"],
            "properties": {
                "name": {"type": "string"},
                "version": {"type": "string"},
                "extensions": {"type": "array", "items": {"type": "string"}},
            },
        },
        "V2Error": {"type": "object", "properties": {"error": {"type": "string"}}},
    }
