"""``mllab.keras.Callback()``: Keras training curves in the lab's MLflow run, no other code.

Imported only when used (``mllab.keras`` loads it, and Keras with it): ``import
jupyter_mllab`` stays light. Epoch metrics (``loss``, ``val_accuracy``, ...) go through the
buffered ``mllab.log_metrics`` with the epoch as the step; batch metrics too when asked
(``every_n_batches``). In a tracked job they land in the job's run; inside ``with
mllab.start_run()`` in that run; elsewhere the callback opens a run of its own for the
training and closes it when training ends (a fit that raised leaves it open: the next fit
with the same callback, or interpreter exit, ends it FAILED).
"""

from __future__ import annotations

import atexit
import contextlib
import numbers
from typing import Any

import keras

from .client import tracking

__all__ = ["Callback"]


def _learning_rate(optimizer: Any) -> float | None:
    try:
        rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        # Keras keeps it as float32 (0.01 reads 0.009999999776...): its 7 significant
        # digits, so that it equals a tracked run's own learning_rate parameter (MLflow
        # refuses to change a logged parameter's value)
        return float(f"{rate:.7g}")
    except Exception:  # a schedule, or an optimizer without one: not worth failing over
        return None


class Callback(keras.callbacks.Callback):
    """Logs a Keras ``fit`` to the lab: parameters at the start, metrics per epoch."""

    def __init__(
        self,
        every_n_batches: int | None = None,
        log_params: bool = True,
        run_name: str | None = None,
        project: str | None = None,
    ):
        super().__init__()
        if every_n_batches is not None and every_n_batches < 1:
            raise ValueError("every_n_batches must be 1 or more.")
        self.every_n_batches = every_n_batches
        self.log_params = log_params
        self.run_name = run_name
        self.project = project
        self._own_run: contextlib.ExitStack | None = None
        self._batches = 0
        self.run_id: str | None = None

    # -- the run ---------------------------------------------------------------------------
    def _open_run(self) -> None:
        try:
            self.run_id = tracking._run_id()
        except RuntimeError:  # interactive, outside any run: one for this training
            stack = contextlib.ExitStack()
            run = stack.enter_context(
                tracking.start_run(name=self.run_name or self.model.name, project=self.project)
            )
            self._own_run = stack
            self.run_id = run.info.run_id
            atexit.register(self._close_stale)

    def _close_run(self, failed: bool) -> None:
        tracking.flush()
        stack, self._own_run = self._own_run, None
        if stack is None:
            return
        atexit.unregister(self._close_stale)
        if failed:
            with contextlib.suppress(RuntimeError):
                stack.__exit__(RuntimeError, RuntimeError("training failed"), None)
        else:
            stack.close()

    def _close_stale(self) -> None:
        if self._own_run is not None:
            self._close_run(failed=True)

    # -- Keras' hooks ----------------------------------------------------------------------
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._batches = 0
        if self._own_run is not None:  # the last fit raised (Keras has no hook for that)
            self._close_run(failed=True)
        self._open_run()
        if not self.log_params:
            return
        params = {
            "epochs": self.params.get("epochs"),
            "steps_per_epoch": self.params.get("steps"),
            "optimizer": type(self.model.optimizer).__name__ if self.model.optimizer else None,
            "learning_rate": _learning_rate(self.model.optimizer),
            "model_params": self.model.count_params(),
        }
        tracking.log_params({k: v for k, v in params.items() if v is not None})

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        metrics = {k: float(v) for k, v in (logs or {}).items() if _is_number(v)}
        if metrics:
            tracking.log_metrics(metrics, step=epoch)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._batches += 1
        if self.every_n_batches and self._batches % self.every_n_batches == 0:
            metrics = {f"batch/{k}": float(v) for k, v in (logs or {}).items() if _is_number(v)}
            if metrics:
                tracking.log_metrics(metrics, step=self._batches)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._close_run(failed=False)


def _is_number(value: Any) -> bool:
    if isinstance(value, numbers.Real):
        return True
    try:
        float(value)
        return getattr(value, "ndim", 0) == 0
    except (TypeError, ValueError):
        return False
