"""A plain callable (or an object's ``predict``) as an MLflow pyfunc model.

``log_model`` pickles this class by value (cloudpickle's ``register_pickle_by_value``), so
a logged model loads where jupyter_mllab is not installed (a bundle, a service). Keep it
free of imports from this package. Imported only by ``log_model`` (it imports mlflow).
"""

from __future__ import annotations

from typing import Any

from mlflow.pyfunc import PythonModel


class CallableModel(PythonModel):
    """Calls ``fn`` on the model input (a DataFrame, an array, ... as MLflow passes it)."""

    def __init__(self, fn: Any) -> None:
        self.fn = fn

    # No type hints: MLflow would read them as the model's input schema.
    def predict(self, context, model_input, params=None):
        return self.fn(model_input)
