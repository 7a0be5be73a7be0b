"""Datasets: content-addressed, immutable versions per project, addressed by keys."""
