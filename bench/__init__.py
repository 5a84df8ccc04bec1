"""Benchmarks (BENCHMARKS.md): one module per issue, `python -m bench.<name>`. Never tests."""
