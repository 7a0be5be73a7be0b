"""A standalone service for one MLflow model: MLflow's scoring protocol and the Open
Inference Protocol over uvicorn, with adaptive micro-batching.

``python -m jupyter_mllab.serve MODEL_DIR [--port N | --fd N] ...`` (``cli.py`` lists the
options, CONTRACT C1). This package imports nothing from the rest of jupyter_mllab, nor
JupyterLab, jupyter_server or tornado (an import-linter contract checks it), only the
stdlib, ``mlflow.pyfunc``, pandas, numpy and uvicorn (an mlflow-skinny dependency; with
httptools and uvloop when they are installed), and its modules import each other
relatively: a model bundle (``models/bundle.py``) carries a copy of it under a private
name and runs where jupyter_mllab is not installed.
"""
