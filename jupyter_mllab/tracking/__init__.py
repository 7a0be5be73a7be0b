"""Tracking: the MLflow side of projects and runs (mlflow is imported lazily, where used)."""
