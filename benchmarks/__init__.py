"""Performance benchmarks; run_all.py prints every figure in one table. Not tests."""
