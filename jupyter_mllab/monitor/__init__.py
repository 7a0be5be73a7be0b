"""Hardware monitoring (GPUs through NVML, the rest through psutil)."""
