"""Fixtures of the Kubernetes golden tests: the stand-in API server and a Dagster instance
whose run launcher is the production one of ``deploy/dagster/dagster.yaml``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.instance import DagsterInstance
from dagster._core.test_utils import instance_for_test
from k8s_support import (
    ApiStandIn,
    compiled_defs,
    deploy_instance,
    serve_stand_in,
    write_kubeconfig,
)


@pytest.fixture(scope="session")
def stand_in() -> Iterator[ApiStandIn]:
    yield from serve_stand_in()


@pytest.fixture(scope="session")
def kubeconfig(tmp_path_factory: pytest.TempPathFactory, stand_in: ApiStandIn) -> Path:
    return write_kubeconfig(tmp_path_factory.mktemp("kube") / "config", stand_in.url)


@pytest.fixture(scope="session")
def k8s_instance(kubeconfig: Path) -> Iterator[DagsterInstance]:
    """A real instance (temporary storage) with the production ``run_launcher`` section,
    pointed at the stand-in instead of the in-cluster API."""
    launcher = deploy_instance()["run_launcher"]
    config = {**launcher["config"], "load_incluster_config": False}
    config["kubeconfig_file"] = str(kubeconfig)
    with instance_for_test(overrides={"run_launcher": {**launcher, "config": config}}) as instance:
        yield instance


@pytest.fixture(scope="session")
def defs() -> dg.Definitions:
    return compiled_defs()
