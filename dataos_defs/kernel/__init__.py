"""The cloud kernel's pure half: Resources + settings -> the kernel model.

``terraform/`` (the CDKTF app) consumes the model; nothing here imports it or CDKTF.
"""
