"""Which MLflow flavor an object is, which formats it can be exported in, what it needs.

Light: nothing heavy is imported to check an object. A Keras model can only exist once
``keras`` is imported, a torch module once ``torch`` is: the checks look at the classes'
module names first and use ``sys.modules`` (never an import) for the ``isinstance`` test.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import sys
import types
from importlib import metadata
from typing import Any

from ..errors import BadRequest

FORMATS = ("mlflow", "keras", "savedmodel", "onnx", "bundle")

# What each flavor can be exported as (onnx only where its converter is installed).
FLAVOR_FORMATS: dict[str, tuple[str, ...]] = {
    "keras": ("mlflow", "keras", "savedmodel", "onnx", "bundle"),
    "sklearn": ("mlflow", "onnx", "bundle"),
    "xgboost": ("mlflow", "onnx", "bundle"),
    "lightgbm": ("mlflow", "onnx", "bundle"),
    "pytorch": ("mlflow", "onnx", "bundle"),
    "pyfunc": ("mlflow", "bundle"),
}

# The converter each flavor needs for onnx: (import name, pip name).
ONNX_CONVERTERS: dict[str, tuple[str, str]] = {
    "keras": ("tf2onnx", "tf2onnx"),
    "sklearn": ("skl2onnx", "skl2onnx"),
    "xgboost": ("onnxmltools", "onnxmltools"),
    "lightgbm": ("onnxmltools", "onnxmltools"),
    "pytorch": ("onnx", "onnx"),
}

# Distributions a flavor's model needs at load time, beside mlflow itself. A tuple is a
# choice: the first one installed is pinned (tensorflow-cpu where that is what is there).
_REQUIREMENTS: dict[str, tuple[str | tuple[str, ...], ...]] = {
    "keras": ("keras", ("tensorflow", "tensorflow-cpu", "tensorflow-macos"), "numpy", "pandas"),
    "sklearn": ("scikit-learn", "numpy", "scipy", "pandas", "cloudpickle"),
    "xgboost": ("xgboost", "numpy", "scipy", "pandas"),
    "lightgbm": ("lightgbm", "numpy", "scipy", "pandas"),
    "pytorch": ("torch", "numpy", "pandas", "cloudpickle"),
    "pyfunc": ("numpy", "pandas", "cloudpickle"),
}


def _modules(obj: Any) -> list[str]:
    try:
        return [getattr(c, "__module__", "") or "" for c in type(obj).__mro__]
    except Exception:  # an object whose type misbehaves is no model
        return []


def _isinstance_of(obj: Any, module: str, path: str) -> bool:
    """``isinstance(obj, module.path)`` if ``module`` is already imported, else False."""
    mod = sys.modules.get(module)
    if mod is None:
        return False
    target: Any = mod
    for part in path.split("."):
        target = getattr(target, part, None)
        if target is None:
            return False
    return isinstance(target, type) and isinstance(obj, target)


def _has_callable(obj: Any, name: str) -> bool:
    try:
        return callable(inspect.getattr_static(obj, name, None)) or callable(
            getattr(type(obj), name, None)
        )
    except Exception:
        return False


def detect_flavor(obj: Any, *, callables: bool = True) -> str | None:
    """The flavor ``log_model`` would use for ``obj``, or None if it is no model.

    ``callables``: whether a plain function counts (as pyfunc); the kernel's list of model
    variables leaves them out."""
    if isinstance(obj, (type, types.ModuleType)) or obj is None:
        return None
    modules = _modules(obj)
    roots = {m.split(".", 1)[0] for m in modules}
    kerasish = roots & {"keras", "tf_keras"} or any(m.startswith("tensorflow.") for m in modules)
    if kerasish and (
        _isinstance_of(obj, "keras", "Model")
        or _isinstance_of(obj, "tf_keras", "Model")
        or _isinstance_of(obj, "tensorflow", "keras.Model")
    ):
        return "keras"
    if "torch" in roots and _isinstance_of(obj, "torch", "nn.Module"):
        return "pytorch"
    if "xgboost" in roots:  # before sklearn: XGBClassifier is a BaseEstimator too
        return "xgboost"
    if "lightgbm" in roots:
        return "lightgbm"
    if _isinstance_of(obj, "mlflow.pyfunc", "PythonModel"):
        return "pyfunc"
    if "sklearn" in roots and _isinstance_of(obj, "sklearn.base", "BaseEstimator"):
        return "sklearn"
    if _has_callable(obj, "predict"):
        # sklearn-style (get_params) goes through mlflow.sklearn; any other object with a
        # predict is wrapped as a pyfunc model that calls it.
        return "sklearn" if _has_callable(obj, "get_params") else "pyfunc"
    if callables and isinstance(
        obj, (types.FunctionType, types.BuiltinFunctionType, types.MethodType)
    ):
        return "pyfunc"
    if callables and isinstance(obj, functools.partial):
        return "pyfunc"
    return None


def onnx_available(flavor: str) -> bool:
    converter = ONNX_CONVERTERS.get(flavor)
    return converter is not None and importlib.util.find_spec(converter[0]) is not None


def formats_for(flavor: str) -> list[str]:
    """The formats ``flavor`` can be exported in here (onnx only with its converter)."""
    return [f for f in FLAVOR_FORMATS[flavor] if f != "onnx" or onnx_available(flavor)]


# The library a flavor's MLflow module saves with (the object came from it, but a look-alike
# may not have: a class whose module merely says so).
_LIBRARIES = {"keras": "keras", "xgboost": "xgboost", "lightgbm": "lightgbm", "pytorch": "torch"}


def check_format(flavor: str, fmt: str) -> None:
    """A clear 400 for a format this flavor cannot produce or this machine cannot make."""
    library = _LIBRARIES.get(flavor)
    if library is not None and importlib.util.find_spec(library) is None:
        raise BadRequest(
            f"Logging a {flavor} model needs the '{library}' package, which is not installed "
            "in this kernel's environment.",
            reason="format_unavailable",
        )
    if fmt not in FLAVOR_FORMATS[flavor]:
        known = "" if fmt in FORMATS else f"'{fmt}' is no export format. "
        raise BadRequest(
            f"{known}A {flavor} model cannot be exported as '{fmt}': it can be exported as "
            f"{', '.join(formats_for(flavor))}.",
            reason="bad_format",
        )
    if fmt == "onnx" and not onnx_available(flavor):
        module, package = ONNX_CONVERTERS[flavor]
        raise BadRequest(
            f"Exporting a {flavor} model as onnx needs the '{module}' package, which is not "
            f"installed in this kernel's environment: `pip install {package}`, then restart "
            "the kernel.",
            reason="format_unavailable",
        )


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


@functools.cache
def _pins(flavor: str) -> tuple[str, ...]:
    pins = []
    for entry in ("mlflow", *_REQUIREMENTS[flavor]):
        for dist in (entry,) if isinstance(entry, str) else entry:
            version = _version(dist)
            if version is not None:
                pins.append(f"{dist}=={version}")
                break
    return tuple(pins)


def pinned_requirements(flavor: str) -> list[str]:
    """``name==version`` of mlflow and the packages ``flavor``'s model needs, as installed
    in this environment: MLflow then skips its requirements inference (seconds a model).
    Read once per process: a kernel's installed packages change only with a restart."""
    return list(_pins(flavor))
