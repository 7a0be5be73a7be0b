"""Adaptive micro-batching: requests that arrive together are predicted in one call.

A request is read as far as a :class:`Piece` on the event loop (its JSON parsed, its shape
checked: cheap), then queued here. A free predict thread takes the first piece and every
queued piece with the same key (same input field and columns, same params) up to
``max_rows`` rows; the model predicts them in one ``predict`` call and the predictions are
split back by rows. Adaptive: a request that finds a thread free and nothing else on its
way is predicted at once (a lone client never waits); while requests are still being
received, or all threads are busy, they queue and go together, waiting at most
``window_ms`` for the ones on their way.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from .protocol import (
    DF_RECORDS,
    DF_SPLIT,
    INPUTS,
    INSTANCES,
    InputSpec,
    _array,
    _dataframe_records,
    split_frame,
)

# (status, body, rows predicted)
Answer = tuple[int, bytes, int]
TENSOR = "tensor"


@dataclass(eq=False)
class Piece:
    """One request's input: its field (``dataframe_split``, ..., ``csv``, ``v2``), value and
    params; ``key`` is equal for pieces that can be predicted together (``None``: alone)."""

    field: str
    value: Any
    params: dict[str, Any] | None = None
    key: Hashable | None = None
    rows: int = 0


def piece_of(field: str, value: Any, params: dict[str, Any] | None, spec: InputSpec) -> Piece:
    """The piece of a JSON request's ``field``; batchable where stacking cannot change a row."""
    piece = Piece(field, value, params)
    if not spec.batchable:
        return piece
    if field == DF_SPLIT and spec.columns and type(value) is dict and len(value) == 2:
        columns, data = value.get("columns"), value.get("data")
        if type(columns) is list and type(data) is list and all(type(c) is str for c in columns):
            piece.key, piece.rows = (DF_SPLIT, tuple(columns), _params_key(params)), len(data)
    elif field == DF_RECORDS and spec.columns and type(value) is list and value:
        first = value[0]
        names = tuple(first) if type(first) is dict else None
        if names is not None and all(type(r) is dict and tuple(r) == names for r in value):
            piece.key, piece.rows = (DF_RECORDS, names, _params_key(params)), len(value)
    elif (
        field in (INPUTS, INSTANCES)
        and spec.tensor_dtype is not None
        and type(value) is list
        and value
        and all(type(row) is list for row in value)
    ):
        piece.key, piece.rows = (TENSOR, _params_key(params)), len(value)
    return piece


def _params_key(params: dict[str, Any] | None) -> str | None:
    return None if params is None else json.dumps(params, sort_keys=True, default=str)


def combine(pieces: list[Piece], spec: InputSpec) -> Any:
    """The model input of pieces with one key: their rows stacked in order."""
    first = pieces[0]
    if first.field == DF_SPLIT:
        rows = [row for piece in pieces for row in piece.value["data"]]
        return split_frame(list(first.value["columns"]), rows, spec)
    if first.field == DF_RECORDS:
        return _dataframe_records([row for piece in pieces for row in piece.value], spec)
    import numpy as np

    arrays = [_array(piece.value, spec.tensor_dtype, piece.field) for piece in pieces]
    return np.concatenate(arrays)


def split_predictions(predictions: Any, counts: list[int]) -> list[Any] | None:
    """The predictions of each piece (``counts`` rows each); ``None`` if they do not split."""
    import numpy as np
    import pandas as pd

    total = sum(counts)
    bounds = []
    start = 0
    for count in counts:
        bounds.append((start, start + count))
        start += count
    if isinstance(predictions, (pd.DataFrame, pd.Series)):
        if len(predictions) != total:
            return None
        return [predictions.iloc[a:b] for a, b in bounds]
    if isinstance(predictions, np.ndarray):
        if predictions.ndim == 0 or len(predictions) != total:
            return None
        return [predictions[a:b] for a, b in bounds]
    if isinstance(predictions, list):
        return [predictions[a:b] for a, b in bounds] if len(predictions) == total else None
    if isinstance(predictions, dict) and predictions:
        values = list(predictions.values())
        if all(isinstance(v, np.ndarray) and v.ndim and len(v) == total for v in values):
            return [{k: v[a:b] for k, v in predictions.items()} for a, b in bounds]
    return None


class Batcher:
    """Queues pieces for ``answer`` (run in ``workers`` threads) and batches them adaptively."""

    def __init__(
        self,
        answer: Callable[[list[Piece]], list[Answer]],
        *,
        workers: int = 1,
        enabled: bool = True,
        max_rows: int = 64,
        window_ms: float = 2.0,
    ):
        self._answer = answer
        self.workers = max(1, workers)
        self.enabled = enabled
        self.max_rows = max(1, max_rows)
        self.window_ms = max(0.0, window_ms)
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="mllab-predict")
        self._free = self.workers
        self._pending: deque[tuple[Piece, asyncio.Future[Answer]]] = deque()
        self._pending_rows = 0
        self._arriving = 0  # requests being received: they may join the next batch
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.calls = 0  # predict calls on batchable pieces, and their rows
        self.call_rows = 0

    def info(self) -> dict[str, Any]:
        mean = self.call_rows / self.calls if self.calls else 0.0
        return {
            "enabled": self.enabled,
            "max_rows": self.max_rows,
            "window_ms": self.window_ms,
            "mean_batch_rows": round(mean, 3),
        }

    def expect(self) -> None:
        """A request is being received: the next batch may wait for it (up to the window)."""
        self._arriving += 1

    def cancel_expect(self) -> None:
        """It will not come (a bad request, a dropped connection)."""
        self._arriving -= 1
        if self._pending:
            self._pump()

    async def submit(self, piece: Piece, *, expected: bool = True) -> Answer:
        loop = self._loop or asyncio.get_running_loop()
        self._loop = loop
        if expected:
            self._arriving -= 1
        future: asyncio.Future[Answer] = loop.create_future()
        self._pending.append((piece, future))
        self._pending_rows += piece.rows
        self._pump()
        return await future

    def _pump(self, flush: bool = False) -> None:
        while self._pending and self._free:
            if not flush and self._should_wait():
                if self._timer is None and self._loop is not None:
                    self._timer = self._loop.call_later(self.window_ms / 1000, self._window_over)
                return
            self._dispatch()
        if self._timer is not None and not self._pending:
            self._timer.cancel()
            self._timer = None

    def _should_wait(self) -> bool:
        return (
            self.enabled
            and self._arriving > 0
            and self.window_ms > 0
            and self._pending[0][0].key is not None
            and self._pending_rows < self.max_rows
        )

    def _window_over(self) -> None:
        self._timer = None
        self._pump(flush=True)

    def _dispatch(self) -> None:
        piece, future = self._pending.popleft()
        batch = [(piece, future)]
        rows = piece.rows
        if self.enabled and piece.key is not None and rows < self.max_rows:
            kept: deque[tuple[Piece, asyncio.Future[Answer]]] = deque()
            while self._pending and rows < self.max_rows:
                item = self._pending.popleft()
                if item[0].key == piece.key and rows + item[0].rows <= self.max_rows:
                    batch.append(item)
                    rows += item[0].rows
                else:
                    kept.append(item)
            kept.extend(self._pending)
            self._pending = kept
        self._pending_rows -= rows
        if piece.key is not None:
            self.calls += 1
            self.call_rows += rows
        self._free -= 1
        pieces = [item[0] for item in batch]
        futures = [item[1] for item in batch]
        loop = self._loop
        assert loop is not None
        done = self._pool.submit(self._answer, pieces)
        done.add_done_callback(lambda f: loop.call_soon_threadsafe(self._done, futures, f))

    def _done(self, futures: list[asyncio.Future[Answer]], done: Future[list[Answer]]) -> None:
        self._free += 1
        try:
            answers = done.result()
        except Exception as exc:  # answer() catches everything; this is a last resort
            answers = [(500, repr(exc).encode(), 0)] * len(futures)
        for future, answer in zip(futures, answers, strict=True):
            if not future.done():
                future.set_result(answer)
        self._pump()

    def run_now(self, pieces: list[Piece]) -> list[Answer]:
        """Answer in the calling thread (the warm-up, before the loop runs)."""
        return self._answer(pieces)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
