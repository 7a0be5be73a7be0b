"""A standalone server for one MLflow model: MLflow's scoring protocol over the stdlib's HTTP.

``python -m jupyter_mllab.serve MODEL_DIR [--host H] [--port N]``. This package imports
nothing from the rest of jupyter_mllab, nor JupyterLab, jupyter_server or tornado (an
import-linter contract checks it), only the stdlib, ``mlflow.pyfunc``, pandas and numpy,
and its modules import each other relatively: a model bundle (``models/bundle.py``)
carries a copy of it under a private name and runs where jupyter_mllab is not installed.
"""
