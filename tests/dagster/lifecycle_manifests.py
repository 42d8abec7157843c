"""Workflows the lifecycle tests apply (a module of its own: three test files share them)."""

ONCE = """\
name: once
version: v1
type: workflow
description: {description}
workflow:
  dag:
    - name: hello
      spec:
        stack: python3
        compute: runnable-default
        stackSpec: {{}}
"""
"""An unscheduled workflow: it runs once when applied (``description`` changes it)."""
