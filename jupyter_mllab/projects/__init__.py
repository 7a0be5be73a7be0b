"""Projects: one space holding a project's datasets, experiments, models and services."""
