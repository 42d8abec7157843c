"""The cluster stack tests' model and synthesis, once per module.

A stack test module names its cloud in ``CLOUD``; ``test_cluster_stacks.py`` overrides the
``cloud`` fixture to run over every cloud. Loading a cloud's provider bindings costs seconds,
so the hand-built model is synthesized once per module (and cloud); the variants a test builds
take about 0.1 s each once the bindings are loaded.
"""

from __future__ import annotations

from typing import Any

import pytest

from dataos_defs.kernel.model import Cloud, KernelModel

from .stack_support import cloud_model, measured_synth


@pytest.fixture(scope="module")
def cloud(request: pytest.FixtureRequest) -> Cloud:
    return request.module.CLOUD  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def model(cloud: Cloud) -> KernelModel:
    return cloud_model(cloud)


@pytest.fixture(scope="module")
def config(model: KernelModel) -> dict[str, Any]:
    synthesized, seconds = measured_synth(model)
    print(f"\n{model.cloud} cluster stack: bindings loaded and synthesized in {seconds:.1f} s")
    return synthesized
