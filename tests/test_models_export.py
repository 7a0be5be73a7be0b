"""``mllab.log_model``: real scikit-learn and TensorFlow models, a real MLflow store and
registry; every format loads back and predicts what the model in memory predicts."""

from __future__ import annotations

import importlib.util
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

import jupyter_mllab as mllab
from jupyter_mllab import client
from jupyter_mllab.client.model_flavors import detect_flavor, formats_for, pinned_requirements
from jupyter_mllab.errors import BadRequest
from tests.jobs_helpers import make_notebook, wait_for


class Trained(types.SimpleNamespace):
    home: Path
    x: np.ndarray
    y: np.ndarray
    lr: Any
    keras: Any


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """Digits, a LogisticRegression and a one-layer Keras model, trained once per module."""
    import keras
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    x, y = load_digits(return_X_y=True)
    x = (x / 16).astype("float32")
    lr = LogisticRegression(max_iter=200).fit(x, y)
    keras.utils.set_random_seed(0)
    net = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10, activation="softmax")])
    net.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    net.fit(x, y, epochs=2, batch_size=64, verbose=0)
    return Trained(home=tmp_path_factory.mktemp("models") / "home", x=x, y=y, lr=lr, keras=net)


@pytest.fixture
def lab(trained: Trained, monkeypatch: pytest.MonkeyPatch) -> Iterator[MlflowClient]:
    """One lab home for the module (a store migrated once), a clean MLflow state per test."""
    monkeypatch.setenv("MLLAB_HOME", str(trained.home))
    for name in ("MLLAB_RUN_ID", "MLFLOW_RUN_ID", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(client, "_current", None)
    mllab.list_projects()
    yield MlflowClient(f"sqlite:///{trained.home / 'mlflow.db'}")
    import mlflow

    while mlflow.active_run():
        mlflow.end_run()


def _download(lab: MlflowClient, ref: Any, dest: Path) -> Path:
    import mlflow

    return Path(mlflow.artifacts.download_artifacts(artifact_uri=ref.model_uri, dst_path=str(dest)))


def _pyfunc(ref: Any) -> Any:
    import mlflow

    return mlflow.pyfunc.load_model(f"models:/{ref.registered_name}/{ref.version}")


# -- per flavor and format: it loads back and predicts the same ------------------------------


def test_sklearn_mlflow_format(lab: MlflowClient, trained: Trained, tmp_path: Path) -> None:
    import mlflow.sklearn

    ref = mllab.log_model(trained.lr, "digits-lr", sample=trained.x[:5])
    assert str(ref) == ref.key == "default/digits-lr@1"
    assert ref.to_json()["key"] == ref.key and ref.to_json()["flavor"] == "sklearn"
    expected = trained.lr.predict(trained.x[:50])
    assert np.array_equal(_pyfunc(ref).predict(trained.x[:50]), expected)
    native = mlflow.sklearn.load_model(f"models:/{ref.registered_name}@latest")
    assert np.array_equal(native.predict(trained.x[:50]), expected)
    # Outside any run: a run of its own in the project's experiment, finished.
    run = lab.get_run(ref.run_id)
    assert run.info.status == "FINISHED"
    assert lab.get_experiment(run.info.experiment_id).name == "mllab/default"
    model_dir = _download(lab, ref, tmp_path)
    requirements = (model_dir / "requirements.txt").read_text().split()
    assert any(r.startswith("scikit-learn==") for r in requirements)
    assert any(r.startswith("mlflow==") for r in requirements)
    assert (model_dir / "input_example.json").exists()


@pytest.mark.parametrize("fmt", ["mlflow", "keras", "savedmodel"])
def test_keras_formats(lab: MlflowClient, trained: Trained, tmp_path: Path, fmt: str) -> None:
    import keras

    net, x = trained.keras, trained.x
    ref = mllab.log_model(net, f"digits-net-{fmt}", sample=x[:5], format=fmt)
    assert (ref.flavor, ref.format) == ("keras", fmt)
    expected = net.predict(x[:40], verbose=0)
    assert np.allclose(np.asarray(_pyfunc(ref).predict(x[:40])), expected, atol=1e-5)
    data = _download(lab, ref, tmp_path) / "data"
    if fmt == "savedmodel":
        import tensorflow as tf

        loaded = tf.saved_model.load(str(data / "model"))
        assert np.allclose(loaded.serve(x[:40]).numpy(), expected, atol=1e-5)
        layer = keras.layers.TFSMLayer(str(data / "model"), call_endpoint="serve")
        assert np.allclose(np.asarray(layer(x[:40])), expected, atol=1e-5)
    else:
        loaded = keras.models.load_model(data / "model.keras")
        assert np.allclose(loaded.predict(x[:40], verbose=0), expected, atol=1e-5)
    version = lab.get_model_version(ref.registered_name, str(ref.version))
    assert version.tags["mllab.format"] == fmt and version.tags["mllab.flavor"] == "keras"


def test_keras_without_a_sample_gets_its_signature_from_the_input(
    lab: MlflowClient, trained: Trained
) -> None:
    ref = mllab.log_model(trained.keras, "digits-net-nosample")
    model = _pyfunc(ref)
    inputs = model.metadata.signature.inputs.to_dict()
    spec = inputs[0]["tensor-spec"]
    assert (spec["dtype"], list(spec["shape"])) == ("float32", [-1, 64])
    expected = trained.keras.predict(trained.x[:8], verbose=0)
    assert np.allclose(np.asarray(model.predict(trained.x[:8])), expected, atol=1e-5)


def test_sklearn_without_a_sample_logs_without_a_signature(
    lab: MlflowClient, trained: Trained
) -> None:
    ref = mllab.log_model(trained.lr, "digits-lr-nosample")
    model = _pyfunc(ref)
    assert model.metadata.signature is None  # no dtype remembered: no wrong one either
    assert np.array_equal(model.predict(trained.x[:8]), trained.lr.predict(trained.x[:8]))


class Doubler:
    """Has a predict but no get_params: wrapped as a pyfunc model."""

    def predict(self, data: Any) -> Any:
        return np.asarray(data) * 2


class Thresholder:
    """scikit-learn-style (get_params and predict) without being a scikit-learn class."""

    def __init__(self, cut: float = 0.5) -> None:
        self.cut = cut

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"cut": self.cut}

    def predict(self, data: Any) -> Any:
        return (np.asarray(data).mean(axis=1) > self.cut).astype("int64")


def test_a_sklearn_style_object_goes_through_mlflow_sklearn(
    lab: MlflowClient, trained: Trained
) -> None:
    import mlflow.sklearn

    model = Thresholder(0.3)
    ref = mllab.log_model(model, "thresholder", sample=trained.x[:3])
    assert ref.flavor == "sklearn"
    expected = model.predict(trained.x[:30])
    assert np.array_equal(_pyfunc(ref).predict(trained.x[:30]), expected)
    native = mlflow.sklearn.load_model(f"models:/{ref.registered_name}/{ref.version}")
    assert isinstance(native, Thresholder) and native.cut == 0.3


def test_pyfunc_callables_and_python_models(lab: MlflowClient, trained: Trained) -> None:
    import mlflow.pyfunc

    class Scaled(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
            return np.asarray(model_input) * 3

    def row_sums(data: Any) -> Any:
        return np.asarray(data).sum(axis=1)

    x = trained.x[:6]
    for obj, name, expected in [
        (Scaled(), "scaled", x * 3),
        (row_sums, "row-sums", x.sum(axis=1)),
        (Doubler(), "doubler", x * 2),
    ]:
        ref = mllab.log_model(obj, name, sample=x[:2])
        assert ref.flavor == "pyfunc", name
        loaded = _pyfunc(ref)
        assert np.allclose(np.asarray(loaded.predict(x)), expected), name
        assert np.allclose(np.asarray(loaded.unwrap_python_model().predict(None, x)), expected)


def test_a_wrapped_callable_loads_without_this_package(
    lab: MlflowClient, trained: Trained, tmp_path: Path
) -> None:
    """The wrapper is pickled by value: a fresh interpreter that cannot import
    jupyter_mllab still loads and runs the model."""
    import subprocess

    ref = mllab.log_model(lambda d: np.asarray(d) + 1, "plus-one", sample=trained.x[:2])
    model_dir = _download(lab, ref, tmp_path / "m")
    code = (
        "import sys, numpy as np, mlflow.pyfunc\n"
        "sys.modules['jupyter_mllab'] = None\n"  # any import of it fails
        f"m = mlflow.pyfunc.load_model({str(model_dir)!r})\n"
        "print(float(np.asarray(m.predict(np.zeros((1, 64), dtype='float32'))).sum()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "64.0"


# -- the registry ----------------------------------------------------------------------------


def test_registered_version_tags_alias_description_and_a_second_version(
    lab: MlflowClient, trained: Trained
) -> None:
    with mllab.start_run(name="training") as run:
        first = mllab.log_model(
            trained.lr,
            "wine",
            sample=trained.x[:5],
            alias="champion",
            description="first try",
            tags={"team": "red"},
        )
    assert first.run_id == run.info.run_id  # inside a start_run block: that run
    model = lab.get_registered_model(first.registered_name)
    assert first.registered_name == "default~wine"
    assert model.tags == {"mllab.project": "default", "mllab.name": "wine"}
    v1 = lab.get_model_version(first.registered_name, "1")
    assert v1.description == "first try"
    assert v1.run_id == run.info.run_id
    assert v1.tags["mllab.project"] == "default"
    assert v1.tags["mllab.flavor"] == "sklearn"
    assert v1.tags["mllab.format"] == "mlflow"
    assert v1.tags["mllab.artifact_path"] == "wine"
    assert v1.tags["team"] == "red"
    assert model.aliases == {"champion": 1}

    second = mllab.log_model(trained.keras, "wine", sample=trained.x[:5], alias="champion")
    assert second.version == 2 and second.key == "default/wine@2"
    assert lab.get_registered_model("default~wine").aliases == {"champion": 2}
    v1_again = lab.get_model_version("default~wine", "1")
    assert (v1_again.source, v1_again.tags, v1_again.description) == (
        v1.source,
        v1.tags,
        v1.description,
    )
    assert np.array_equal(_pyfunc(first).predict(trained.x[:5]), trained.lr.predict(trained.x[:5]))

    listed = {m["name"]: m for m in mllab.list_models()}
    assert listed["wine"]["latest_version"] == 2
    assert listed["wine"]["versions_count"] == 2
    assert listed["wine"]["aliases"] == {"champion": 2}
    assert listed["wine"]["key"] == "default/wine"


def test_an_export_after_the_training_block_lands_in_that_run(
    lab: MlflowClient, trained: Trained
) -> None:
    """The toolbar's Export model comes after the cell that trained: the version belongs to
    the run the kernel's last start_run block ended (its metrics are the lineage), which
    stays FINISHED at its own end time."""
    with mllab.start_run(name="fit") as run:
        mllab.log_metric("accuracy", 0.9)
    ended = lab.get_run(run.info.run_id).info
    ref = mllab.log_model(trained.lr, "after", sample=trained.x[:5])
    assert ref.run_id == run.info.run_id
    again = lab.get_run(run.info.run_id).info
    assert (again.status, again.end_time) == ("FINISHED", ended.end_time)
    assert lab.get_run(run.info.run_id).data.metrics == {"accuracy": 0.9}
    with pytest.raises(RuntimeError), mllab.start_run(name="broken"):
        raise RuntimeError("a failed training run is no model's home")
    fresh = mllab.log_model(trained.lr, "after", sample=trained.x[:5])
    assert fresh.run_id != run.info.run_id
    assert lab.get_run(fresh.run_id).info.run_name == "log_model after"


def test_another_project(lab: MlflowClient, trained: Trained) -> None:
    mllab.create_project("other")
    ref = mllab.log_model(trained.lr, "wine", sample=trained.x[:2], project="other", alias="")
    assert ref.key == "other/wine@1" and ref.registered_name == "other~wine"
    assert [(m["project"], m["name"]) for m in mllab.list_models("other")] == [("other", "wine")]
    registered = lab.get_registered_model("other~wine")
    assert registered.tags["mllab.project"] == "other"
    assert registered.aliases == {}  # "" (the Export dialog's "none") sets no alias


# -- bad inputs ------------------------------------------------------------------------------


def test_bad_inputs(lab: MlflowClient, trained: Trained) -> None:
    import pandas as pd

    def reason(call: Any) -> tuple[str, str]:
        with pytest.raises(BadRequest) as info:
            call()
        return info.value.reason, info.value.message

    why, message = reason(lambda: mllab.log_model(pd.DataFrame({"a": [1]}), "frame"))
    assert why == "not_a_model" and "DataFrame" in message
    why, message = reason(lambda: mllab.log_model(np.zeros(3), "array"))
    assert why == "not_a_model" and "ndarray" in message
    assert reason(lambda: mllab.log_model(trained.lr, "bad name"))[0] == "invalid_name"
    assert reason(lambda: mllab.log_model(trained.lr, "a/b"))[0] == "invalid_name"
    why, message = reason(lambda: mllab.log_model(trained.lr, "lr", format="savedmodel"))
    assert why == "bad_format" and "mlflow" in message and "bundle" in message
    why, message = reason(lambda: mllab.log_model(trained.lr, "lr", format="pickle"))
    assert why == "bad_format" and "'pickle' is no export format" in message
    assert importlib.util.find_spec("skl2onnx") is None  # not installed here
    why, message = reason(lambda: mllab.log_model(trained.lr, "lr", format="onnx"))
    assert why == "format_unavailable" and "skl2onnx" in message
    why, message = reason(lambda: mllab.log_model(trained.keras, "net", format="onnx"))
    assert why == "format_unavailable" and "tf2onnx" in message
    assert reason(lambda: mllab.log_model(trained.lr, "lr", alias="1"))[0] == "invalid_alias"
    # None of them logged or registered anything.
    assert not lab.search_registered_models(filter_string="name LIKE 'default~lr%'")
    assert not lab.search_registered_models(filter_string="name = 'default~frame'")


def test_libraries_that_are_not_installed(lab: MlflowClient) -> None:
    """xgboost, lightgbm and torch are absent here: look-alikes are recognised by their
    module, and refused with the package to install; nothing pins what is not there."""
    for module, flavor in [
        ("xgboost.sklearn", "xgboost"),
        ("lightgbm.sklearn", "lightgbm"),
    ]:
        fake = type("Fake", (), {"predict": lambda self, x: x, "__module__": module})()
        assert detect_flavor(fake) == flavor
        with pytest.raises(BadRequest) as info:
            mllab.log_model(fake, "fake")
        assert info.value.reason == "format_unavailable"
        assert flavor.split(".")[0] in info.value.message
        pins = pinned_requirements(flavor)
        assert pins[0].startswith("mlflow==") and not any(p.startswith(flavor) for p in pins)
    assert "torch" not in sys.modules  # a torch module can only exist once torch is imported
    assert detect_flavor(type("Net", (), {"__module__": "torch.nn"})()) is None
    assert formats_for("pytorch") == ["mlflow", "bundle"]  # no onnx converter here
    assert any(p.startswith("tensorflow") for p in pinned_requirements("keras"))


# -- the bundle (models/bundle.py is issue #13's M2 part) -----------------------------------


def test_bundle_format(lab: MlflowClient, trained: Trained, tmp_path: Path) -> None:
    if importlib.util.find_spec("jupyter_mllab.models.bundle") is None:
        pytest.skip("jupyter_mllab.models.bundle (the bundle builder, part M2) is not merged yet")
    import json
    import zipfile

    with mllab.start_run(name="bundling", params={"C": 1.0}) as run:
        mllab.log_metric("accuracy", 0.9)
        mllab.flush()
        ref = mllab.log_model(
            trained.lr, "bundled", sample=trained.x[:3], format="bundle", description="zipped"
        )
    assert ref.format == "bundle" and ref.run_id == run.info.run_id
    names = [a.path for a in lab.list_artifacts(ref.run_id)]
    assert "bundled.mlbundle" in names
    path = lab.download_artifacts(ref.run_id, "bundled.mlbundle", str(tmp_path))
    with zipfile.ZipFile(path) as bundle:
        assert any(n.endswith("MLmodel") for n in bundle.namelist())
        lineage = json.loads(bundle.read("lineage.json"))
    assert lineage["run"]["run_id"] == ref.run_id
    assert lineage["params"] == {"C": "1.0"} and lineage["metrics"] == {"accuracy": 0.9}
    assert lineage["environment"]["mllab.env.python"]  # the run's environment tags
    version = lab.get_model_version(ref.registered_name, str(ref.version))
    assert version.tags["mllab.format"] == "bundle"
    assert version.description == "zipped"
    assert np.array_equal(_pyfunc(ref).predict(trained.x[:5]), trained.lr.predict(trained.x[:5]))


# -- the kernel's model variables ------------------------------------------------------------


def test_model_variables(trained: Trained) -> None:
    import pandas as pd
    from mlflow.pyfunc import PythonModel
    from sklearn.linear_model import LogisticRegression

    class Echo(PythonModel):
        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
            return model_input

    namespace = {
        "net": trained.keras,
        "clf": LogisticRegression(),  # unfitted: still a model
        "echo": Echo(),
        "frame": pd.DataFrame({"a": [1, 2]}),
        "x": trained.x,
        "np": np,
        "LogisticRegression": LogisticRegression,
        "helper": lambda v: v,
        "_private": trained.lr,
        "n": 3,
    }
    found = {v["name"]: v for v in mllab.model_variables(namespace)}
    assert sorted(found) == ["clf", "echo", "net"]
    assert found["net"]["flavor"] == "keras"
    assert found["net"]["type"] == "keras.src.models.sequential.Sequential"
    assert found["net"]["formats"] == ["mlflow", "keras", "savedmodel", "bundle"]
    assert found["clf"]["flavor"] == "sklearn" and "savedmodel" not in found["clf"]["formats"]
    assert found["echo"]["flavor"] == "pyfunc"


def test_model_variables_import_nothing_heavy() -> None:
    """What the UI runs, silently, in a kernel that has no model: no mlflow, no keras."""
    import json
    import subprocess

    code = (
        "import json as __j, jupyter_mllab.client.models as __m\n"
        "import numpy as np\n"
        "x = np.zeros(3)\n"
        "print(__j.dumps(__m.model_variables(globals())))\n"
        "import sys\n"
        "print(sorted(m for m in ('mlflow', 'keras', 'tensorflow', 'torch', 'sklearn') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    variables, loaded = out.stdout.strip().splitlines()
    assert json.loads(variables) == []
    assert loaded == "[]"


# -- the magics ------------------------------------------------------------------------------


def test_export_and_models_magics(
    lab: MlflowClient, trained: Trained, capsys: pytest.CaptureFixture
) -> None:
    from IPython.core.error import UsageError
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        shell.run_line_magic("load_ext", "jupyter_mllab")
        shell.user_ns.update(clf=trained.lr, X_test=trained.x[100:120])
        # A real shell's namespace (In, Out, exit, get_ipython, ...): only the model.
        assert [v["name"] for v in mllab.model_variables(shell.user_ns)] == ["clf"]
        key = shell.run_line_magic(
            "mllab", "export clf --name magic-lr --alias champion --sample X_test[:5] -d 'from %'"
        )
        assert key == "default/magic-lr@1"
        assert "Registered default/magic-lr@1 (sklearn, format mlflow, alias champion)" in (
            capsys.readouterr().out
        )
        version = lab.get_model_version("default~magic-lr", "1")
        assert version.description == "from %"
        import mlflow

        model = mlflow.pyfunc.load_model("models:/default~magic-lr@champion")
        assert model.metadata.signature is not None  # from --sample
        assert shell.run_line_magic("mllab", "export clf") == "default/clf@1"  # name from VAR
        table = shell.run_line_magic("mllab", "models")
        rows = {r[0]: r for r in table.rows}
        assert rows["default/magic-lr"][1:4] == ["1", "1", "champion@1"]
        assert "default/clf" in rows
        with pytest.raises(UsageError, match="ghost"):
            shell.run_line_magic("mllab", "export ghost --name g")
        with pytest.raises(UsageError, match="cannot be exported as 'savedmodel'"):
            shell.run_line_magic("mllab", "export clf --format savedmodel")
        with pytest.raises(UsageError, match="DataFrame"):
            shell.run_cell("import pandas as pd; frame = pd.DataFrame({'a': [1]})")
            shell.run_line_magic("mllab", "export frame")
    finally:
        InteractiveShell.clear_instance()


# -- inside a tracked job: a real kernel, papermill and the server ---------------------------


async def test_log_model_in_a_job_lands_in_the_jobs_run(
    api: Any, jp_root_dir: Path, mllab_home: Path
) -> None:
    make_notebook(
        jp_root_dir / "export.ipynb",
        "C = 0.5",
        "from sklearn.datasets import load_digits\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "import jupyter_mllab as mllab\n"
        "x, y = load_digits(return_X_y=True)\n"
        "clf = LogisticRegression(C=C, max_iter=100).fit(x / 16, y)\n"
        "ref = mllab.log_model(clf, 'digits', sample=x[:3] / 16, alias='candidate')\n"
        "assert str(ref) == 'default/digits@1', ref",
    )
    _, job = await api("POST", "jobs", body={"notebook": "export.ipynb", "timeout": 240})
    job = await wait_for(api, job["id"], timeout=240)
    assert job["status"] == "COMPLETED", job
    lab = MlflowClient(f"sqlite:///{mllab_home / 'mlflow.db'}")
    version = lab.get_model_version_by_alias("default~digits", "candidate")
    assert int(version.version) == 1
    assert version.run_id == job["mlflow_run_id"]
    run = lab.get_run(job["mlflow_run_id"])
    assert run.info.status == "FINISHED"
    assert [f"models:/{o.model_id}" for o in run.outputs.model_outputs] == [version.source]
    assert len(lab.search_runs([run.info.experiment_id])) == 1  # no run of its own
