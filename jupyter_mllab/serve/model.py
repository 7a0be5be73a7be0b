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

    @classmethod
    def load(cls, model_dir: str | Path, name: str | None = None) -> LoadedModel:
        import mlflow.pyfunc

        path = Path(model_dir).resolve()
        return cls(mlflow.pyfunc.load_model(str(path)), name or path.name, path)

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
