"""Caretaker: run, step and process states of the platform, live and historical."""
