"""Exporting a model, in one run: ``mllab.log_model`` (format mlflow, registration
included) against MLflow's own ``mlflow.sklearn.log_model`` / ``mlflow.tensorflow.log_model``
with their defaults (requirements inferred), each given the same signature and input example
and registering too (``registered_model_name``), on the same SQLite store and in one MLflow
run. A LogisticRegression and a one-layer Keras model on scikit-learn's digits; medians of
``--repeats`` calls each. (``mlflow.keras.log_model`` is not the anchor: with an input
example it fails in MLflow 3.17, writing the example before it makes the model's folder.)

Last line:
export: ours_s=… mlflow_default_s=… ratio=…
(the sums of the two models' medians; goal ratio <= 0.2)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def median_time(call: Callable[[int], Any], repeats: int) -> float:
    times = []
    for i in range(repeats):
        t = time.perf_counter()
        call(i)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="mllab-bench-export-"))
    os.environ["MLLAB_HOME"] = str(home)
    for name in ("MLLAB_RUN_ID", "MLFLOW_RUN_ID", "MLFLOW_TRACKING_URI", "MLLAB_PROJECT"):
        os.environ.pop(name, None)
    try:
        import keras
        import mlflow
        import mlflow.sklearn
        import mlflow.tensorflow
        from mlflow.models import infer_signature
        from sklearn.datasets import load_digits
        from sklearn.linear_model import LogisticRegression

        import jupyter_mllab as mllab

        x, y = load_digits(return_X_y=True)
        x = (x / 16).astype("float32")
        sample = x[:5]
        lr = LogisticRegression(max_iter=200).fit(x, y)
        keras.utils.set_random_seed(0)
        net = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10, activation="softmax")])
        net.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        net.fit(x, y, epochs=1, verbose=0)
        sk_signature = infer_signature(sample, lr.predict(sample))
        net_signature = infer_signature(sample, net.predict(sample, verbose=0))

        mllab.list_projects()
        results: dict[str, tuple[float, float]] = {}
        with mllab.start_run(name="bench-export"):  # MLflow's active run too
            ours_sk = median_time(
                lambda i: mllab.log_model(lr, "bench-lr", sample=sample), args.repeats
            )
            theirs_sk = median_time(
                lambda i: mlflow.sklearn.log_model(
                    lr,
                    name=f"mlflow-lr-{i}",
                    signature=sk_signature,
                    input_example=sample,
                    registered_model_name="mlflow-lr",
                ),
                args.repeats,
            )
            results["sklearn"] = (ours_sk, theirs_sk)
            ours_net = median_time(
                lambda i: mllab.log_model(net, "bench-net", sample=sample), args.repeats
            )
            theirs_net = median_time(
                lambda i: mlflow.tensorflow.log_model(
                    net,
                    name=f"mlflow-net-{i}",
                    signature=net_signature,
                    input_example=sample,
                    registered_model_name="mlflow-net",
                ),
                args.repeats,
            )
            results["keras"] = (ours_net, theirs_net)
        client = mlflow.MlflowClient(mllab.client.tracking_uri())
        for registered in ("default~bench-lr", "default~bench-net", "mlflow-lr", "mlflow-net"):
            count = len(client.search_model_versions(f"name = '{registered}'"))
            assert count == args.repeats, (registered, count)  # every call registered one
    finally:
        shutil.rmtree(home, ignore_errors=True)
    for flavor, (ours, theirs) in results.items():
        print(
            f"{flavor}: mllab.log_model {ours:.3f} s, mlflow default {theirs:.3f} s "
            f"(medians of {args.repeats}), ratio {ours / theirs:.3f}"
        )
    ours_s = sum(o for o, _ in results.values())
    theirs_s = sum(t for _, t in results.values())
    print(
        f"export: ours_s={ours_s:.3f} mlflow_default_s={theirs_s:.3f} ratio={ours_s / theirs_s:.3f}"
    )


if __name__ == "__main__":
    main()
