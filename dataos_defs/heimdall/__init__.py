"""Heimdall: identities, and the policy decision point for DataOS access policies.

The decision point: ``policy_data`` compiles Policy Resources into the data document that
the Rego in ``policies/heimdall/`` reads, ``engine`` is the port to a Rego engine (adapters
in ``dataos_defs.adapters``), ``pdp`` decides, caches, fails closed and runs the policies'
own ``_test.rego`` files.
"""
