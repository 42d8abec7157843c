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

SCHEDULED = """\
name: {name}
version: v1
type: workflow
workflow:
  schedule:
    cron: "0 3 * * *"
    endOn: "{end_on}"
  dag:
    - name: work
      spec:
        stack: container
        compute: runnable-default
        stackSpec:
          image: busybox:1.36
          command: {command}
"""
"""A nightly workflow of one local command (``command``: a JSON list), until ``end_on``."""

UNSCHEDULED = """\
name: {name}
version: v1
type: workflow
workflow:
  dag:
    - name: hello
      spec:
        stack: python3
        compute: runnable-default
        stackSpec: {{}}
"""
"""An unscheduled workflow named ``name`` (it runs once when applied)."""
