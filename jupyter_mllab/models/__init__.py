"""Models: MLflow models exported from notebooks, versioned in the MLflow Model Registry,
with their lineage back to run, notebook and datasets (issue #13)."""
