"""Benchmarks: run each from the repository's root as a module, e.g.
``.venv/bin/python -m bench.e2e`` (``make bench`` runs them all); figures in
docs/benchmarks.md."""
