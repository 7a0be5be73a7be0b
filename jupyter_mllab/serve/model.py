"""One MLflow model loaded for serving: predict, answer batches of requests, warm up.

Everything a request needs that can be worked out once is worked out at load: the input
signature compiled into an :class:`~.protocol.InputSpec` (column types, whether requests
can be stacked), whether ``predict`` takes params, the example request used to warm up.
"""

from __future__ import annotations

import inspect
import json
import sys
import traceback
from pathlib import Path
from typing import Any

from .batching import Answer, Piece, combine, piece_of, split_predictions
from .protocol import (
    CONTENT_TYPE_CSV,
    DF_RECORDS,
    DF_SPLIT,
    INPUTS,
    INSTANCES,
    InputSpec,
    ProtocolError,
    build_input,
    dumps,
    parse_csv,
    predictions_body,
    read_payload,
)

V2 = "v2"  # a piece holding an Open Inference request body
CSV = "csv"
_MAX_MESSAGE = 4000
_MODEL_ERROR = "The model failed to predict on this input (the service's log has the details)."
INTERNAL_ERROR = "The server failed to answer this request (its log has the details)."


class LoadedModel:
    """An ``mlflow.pyfunc`` model loaded once, with what each request needs worked out."""

    def __init__(self, pyfunc_model: Any, name: str, model_dir: Path | None = None):
        self.model = pyfunc_model
        self.name = name
        self.model_dir = model_dir
        self.input_schema = pyfunc_model.metadata.get_input_schema()
        self.output_schema = pyfunc_model.metadata.get_output_schema()
        self.spec = InputSpec.from_schema(self.input_schema)
        self._takes_params = "params" in inspect.signature(pyfunc_model.predict).parameters
        self.version: str | None = None  # the V2 model version (from the model key)
        self.example_request = self._example_request()
        self._direct = _direct_predict(pyfunc_model, self.input_schema, self.spec)
        self._signature_columns = list(self.spec.columns)
        self._positions: dict[tuple[str, ...], list[int] | None] = {}

    @classmethod
    def load(
        cls, model_dir: str | Path, name: str | None = None, *, check_requirements: bool = True
    ) -> LoadedModel:
        """Load with ``mlflow.pyfunc``; ``check_requirements=False`` leaves out its check of
        the model's requirements against the environment (seconds: it scans every installed
        distribution's files), for :func:`warn_requirement_mismatches` to do later."""
        import mlflow.pyfunc

        path = Path(model_dir).resolve()
        pyfunc_model = mlflow.pyfunc.load_model(str(path), suppress_warnings=not check_requirements)
        return cls(pyfunc_model, name or path.name, path)

    # -- predicting ---------------------------------------------------------------------

    def predict(self, data: Any, params: dict | None) -> Any:
        """The model's predictions; a :class:`ProtocolError` for anything that goes wrong:
        MLflow's signature checks keep their 4xx and message, the model's own failure is a
        500 with a generic message (the traceback goes to stderr, the service's log)."""
        from mlflow.exceptions import MlflowException

        try:
            return self._predict(data, params)
        except MlflowException as exc:
            status = exc.get_http_status_code()
            if status >= 500:
                log_exception()
                raise ProtocolError(_MODEL_ERROR, status=500, error_code="INTERNAL_ERROR") from None
            raise ProtocolError(
                _truncate(exc.message), status=status, error_code=str(exc.error_code)
            ) from None
        except ProtocolError:
            raise
        except Exception:
            log_exception()
            raise ProtocolError(_MODEL_ERROR, status=500, error_code="INTERNAL_ERROR") from None

    def _predict(self, data: Any, params: dict | None) -> Any:
        if params is not None and self._takes_params:
            return self.model.predict(data, params=params)
        return self.model.predict(data)

    def answer(self, pieces: list[Piece]) -> list[Answer]:
        """The responses to ``pieces``: one predict call for a batch that stacks and splits,
        else (or if that call fails: one of them is bad) each on its own."""
        if self._direct is not None and pieces[0].field == DF_SPLIT and pieces[0].key is not None:
            answers = self._answer_direct(pieces)
            if answers is not None:
                return answers
        if len(pieces) > 1:
            try:
                predictions = self._predict(combine(pieces, self.spec), pieces[0].params)
                parts = split_predictions(predictions, [piece.rows for piece in pieces])
            except Exception:
                parts = None  # each alone below says which one failed, and logs it
            if parts is not None:
                return [
                    (200, predictions_body(part), piece.rows)
                    for part, piece in zip(parts, pieces, strict=True)
                ]
        return [self.answer_one(piece) for piece in pieces]

    def _answer_direct(self, pieces: list[Piece]) -> list[Answer] | None:
        """Tables of doubles: the signature's enforcement compiled (see :func:`_direct_predict`)
        and the flavor's predict called once; ``None`` where that does not apply or fails
        (MLflow's own path then answers, with its messages)."""
        import numpy as np
        import pandas as pd

        first = pieces[0]
        if first.params is not None:
            return None
        columns = tuple(first.value["columns"])
        if columns not in self._positions:
            self._positions[columns] = _positions(columns, self._signature_columns)
        positions = self._positions[columns]
        if positions is None:
            return None
        rows = (
            first.value["data"]
            if len(pieces) == 1
            else [row for piece in pieces for row in piece.value["data"]]
        )
        try:
            values = np.array(rows, dtype=np.float64)
        except (TypeError, ValueError):
            return None
        if values.ndim != 2 or values.shape[1] != len(columns) or not np.isfinite(values).all():
            return None  # ragged rows, missing values: MLflow's checks say what is wrong
        if positions != list(range(len(columns))):
            values = values[:, positions]
        try:
            predictions = self._direct(pd.DataFrame(values, columns=self._signature_columns))
            parts = split_predictions(predictions, [piece.rows for piece in pieces])
        except Exception:
            return None
        if parts is None:
            return None
        return [
            (200, predictions_body(part), piece.rows)
            for part, piece in zip(parts, pieces, strict=True)
        ]

    def answer_one(self, piece: Piece) -> Answer:
        try:
            if piece.field == V2:
                from .v2 import infer_response, parse_infer

                data, params, request_id, outputs = parse_infer(piece.value, self.spec)
                predictions = self.predict(data, params)
                document = infer_response(self.name, self.version, predictions, request_id, outputs)
                return 200, dumps(document), _rows(predictions)
            if piece.field == CSV:
                data, params = parse_csv(piece.value, self.spec), None
            elif piece.key is not None:
                data, params = combine([piece], self.spec), piece.params
            else:
                data, params = build_input(piece.field, piece.value, self.spec), piece.params
            predictions = self.predict(data, params)
            return 200, predictions_body(predictions), _rows(predictions)
        except ProtocolError as exc:
            return exc.status, dumps(exc.to_json()), 0
        except Exception:  # a bug of ours, or predictions that JSON cannot hold
            log_exception()
            error = ProtocolError(INTERNAL_ERROR, status=500, error_code="INTERNAL_ERROR")
            return 500, dumps(error.to_json()), 0

    # -- reading requests ---------------------------------------------------------------

    def piece(self, body: bytes, media_type: str) -> Piece:
        """The piece of an ``/invocations`` body (``ProtocolError`` if it cannot be read)."""
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"The body is not valid UTF-8: {exc}.") from None
        if media_type == CONTENT_TYPE_CSV:
            return Piece(CSV, text)
        field, value, params = read_payload(text)
        return piece_of(field, value, params, self.spec)

    # -- warm-up ------------------------------------------------------------------------

    def _example_request(self) -> dict[str, Any] | None:
        """The model's serving input example (a scoring request), else one synthesized from
        the signature (a row of zeros), else ``None``."""
        info = getattr(self.model.metadata, "saved_input_example_info", None) or {}
        serving = info.get("serving_input_path")
        if self.model_dir is not None and serving:
            try:
                document = json.loads((self.model_dir / serving).read_text())
                if isinstance(document, dict):
                    return document
            except (OSError, ValueError):
                pass
        return synthesized_request(self.input_schema)

    def input_example(self) -> Any:
        """The example request's input (a split table, records, or tensor values)."""
        for field in (DF_SPLIT, DF_RECORDS, INPUTS, INSTANCES):
            if self.example_request and field in self.example_request:
                return self.example_request[field]
        return None

    def warm_up(self) -> str | None:
        """Predict on the example request, alone and (if requests stack) as a batch of two,
        so that the first real request finds every lazy import and cache done. The reason
        it failed (logged) or ``None``."""
        if self.example_request is None:
            return None
        try:
            piece = self.piece(json.dumps(self.example_request).encode(), "application/json")
            answers = self.answer([piece])
            if piece.key is not None:
                answers += self.answer([piece, piece])
        except ProtocolError as exc:
            answers = [(exc.status, exc.message.encode(), 0)]
        failed = [answer for answer in answers if answer[0] != 200]
        if failed:
            reason = failed[0][1].decode("utf-8", "replace")
            print(f"Warm-up prediction failed: {reason}", file=sys.stderr, flush=True)
            return reason
        return None


def warn_requirement_mismatches(model_dir: Path) -> None:
    """MLflow's warning (to the log) where the environment does not satisfy the model's
    requirements: what ``load_model`` checks, run once the service is ready instead."""
    try:
        from mlflow.pyfunc import _get_pip_requirements_from_model_path
        from mlflow.utils.requirements_utils import warn_dependency_requirement_mismatches

        warn_dependency_requirement_mismatches(
            _get_pip_requirements_from_model_path(str(model_dir))
        )
    except Exception as exc:  # another MLflow release: say so rather than fail
        print(f"The model's requirements were not checked: {exc!r}", file=sys.stderr, flush=True)


def _direct_predict(pyfunc_model: Any, schema: Any, spec: InputSpec) -> Any:
    """The flavor's own predict function, where MLflow's signature enforcement comes down to
    what :meth:`LoadedModel._answer_direct` does once per batch: a column signature of
    required doubles and nothing else (no params schema, no type-hint signature, no
    dependency schemas). MLflow then builds a frame of exactly the signature's columns, in
    its order, as float64: so do we, from one float array, at a fraction of the cost, and
    call the same function ``PyFuncModel.predict`` calls. ``None`` otherwise."""
    metadata = pyfunc_model.metadata
    try:
        if not spec.all_float or metadata.get_params_schema() is not None:
            return None
        if metadata._is_signature_from_type_hint() or metadata._is_type_hint_from_example():
            return None
        if "dependencies_schemas" in (metadata.metadata or {}):
            return None
        if not all(column.required for column in schema.inputs):
            return None
        return pyfunc_model._predict_fn
    except AttributeError:  # another MLflow release: its own path
        return None


def _positions(columns: tuple[str, ...], signature: list[str]) -> list[int] | None:
    """Where each signature column is in a request's ``columns`` (extra ones are dropped, as
    MLflow drops them); ``None`` if one is missing or a name repeats."""
    if len(set(columns)) != len(columns):
        return None
    where = {name: index for index, name in enumerate(columns)}
    if any(name not in where for name in signature):
        return None
    return [where[name] for name in signature]


def synthesized_request(schema: Any) -> dict[str, Any] | None:
    """A one-row request from a signature: zeros, empty strings, false; ``None`` if unsure."""
    if schema is None:
        return None
    try:
        if schema.is_tensor_spec():
            import numpy as np

            if len(schema.inputs) != 1:
                return None
            spec = schema.inputs[0]
            shape = [1 if dim == -1 else dim for dim in (spec.shape or (1,))]
            return {"inputs": np.zeros(shape, dtype=spec.type).tolist()}
        from mlflow.types import DataType

        defaults = {
            DataType.boolean: False,
            DataType.integer: 0,
            DataType.long: 0,
            DataType.float: 0.0,
            DataType.double: 0.0,
            DataType.string: "",
        }
        columns = [spec.name for spec in schema.inputs]
        row = []
        for spec in schema.inputs:
            if spec.type not in defaults or not spec.name:
                return None
            row.append(defaults[spec.type])
        return {"dataframe_split": {"columns": columns, "data": [row]}}
    except Exception:  # an exotic schema: no warm-up rather than a failed start
        return None


def _rows(predictions: Any) -> int:
    try:
        return len(predictions)
    except TypeError:
        return 1


def log_exception() -> None:
    traceback.print_exc(file=sys.stderr)
    sys.stderr.flush()


def _truncate(message: str) -> str:
    return message if len(message) <= _MAX_MESSAGE else message[:_MAX_MESSAGE] + " ..."
