"""Adapters to external systems, one module each; importing this package imports none.

Rego engines implementing ``dataos_defs.heimdall.engine.RegoEngine``:
``regorus_engine`` (embedded default) and ``opa_golib_engine`` (OPA 1.20 in-process).
"""
