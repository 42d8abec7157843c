"""Workflows the Caretaker tests compile and run (stack ``python3``, see ``stacks``)."""

GOOD = """\
name: good
version: v1
type: workflow
workflow:
  dag:
    - name: load
      spec:
        stack: python3
        compute: runnable-default
        stackSpec: {}
    - name: report
      dependencies: [load]
      spec:
        stack: python3
        compute: query-default
        stackSpec: {}
"""

BAD = """\
name: bad
version: v1
type: workflow
workflow:
  dag:
    - name: fail-load
      spec:
        stack: python3
        compute: runnable-default
        stackSpec: {}
    - name: after
      dependencies: [fail-load]
      spec:
        stack: python3
        compute: runnable-default
        stackSpec: {}
"""
