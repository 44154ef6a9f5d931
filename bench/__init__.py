"""Benchmarks (not tests): `python -m bench` for load, `python -m bench.metrics_bench` for metrics."""
