"""The cloud kernel's CDKTF construct library: one cluster stack per cloud, one platform stack.

``app.synth`` builds the app from a kernel model (:mod:`dataos_defs.kernel.model`); the cloud
modules (``aws``, ``gcp``, ``azure``) are imported only when their cloud is asked for, because
loading a provider's bindings is most of the synthesis time.
"""
