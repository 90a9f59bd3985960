"""Benchmark harness: a generated newspaper archive built by banmian, Pelican and Hugo.

``python -m bench corpus|touch|run|growth`` — see bench/README.md.
"""
