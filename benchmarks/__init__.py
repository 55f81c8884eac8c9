"""On-demand benchmarks: python -m benchmarks."""
