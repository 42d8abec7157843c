"""Support modules and code templates of ``benchmarks/spine2.py`` (the Spine II figures)."""
