"""Benchmarks of issue 7 (`make bench`): see bench/__main__.py."""
