"""Builders the kernel mapping tests share: the example settings with changes, Computes,
Services and desired states written as briefly as the rule under test allows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from dataos_defs.kernel.desired import DesiredState
from dataos_defs.kernel.settings import KernelSettings
from dataos_defs.manifest.compute import Compute
from dataos_defs.manifest.service import Service

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = ROOT / "resources"
EXAMPLE_SETTINGS = ROOT / "terraform" / "kernel.yaml"


def settings_data() -> dict[str, Any]:
    data = yaml.safe_load(EXAMPLE_SETTINGS.read_text())
    assert isinstance(data, dict)
    return data


def settings(change: Callable[[dict[str, Any]], None] | None = None) -> KernelSettings:
    """The example settings, after ``change`` edited their YAML data."""
    data = settings_data()
    if change is not None:
        change(data)
    return KernelSettings.model_validate(data)


def compute(
    name: str,
    purpose: str = "runnable",
    selector: dict[str, str] | None = None,
    tolerations: Sequence[dict[str, Any]] | None = None,
) -> Compute:
    pool: dict[str, Any] = {}
    if selector is not None:
        pool["nodeSelector"] = selector
    if tolerations is not None:
        pool["tolerations"] = list(tolerations)
    section: dict[str, Any] = {"dataplane": "hub", "purpose": purpose}
    if pool:
        section["nodePool"] = pool
    return Compute.model_validate(
        {"name": name, "version": "v1", "type": "compute", "compute": section}
    )


def service(
    name: str,
    path: str | None = None,
    port: int | None = 8080,
    ports: Sequence[int] = (),
    enabled: bool = True,
) -> Service:
    spec: dict[str, Any] = {
        "stack": "container",
        "compute": "runnable-default",
        "stackSpec": {"image": "registry.example.com/app:1"},
    }
    if port is not None:
        spec["servicePort"] = port
    if ports:
        spec["servicePorts"] = [{"name": f"p{p}", "servicePort": p} for p in ports]
    if path is not None:
        spec["ingress"] = {"enabled": enabled, "path": path, "stripPath": True}
    return Service.model_validate(
        {"name": name, "version": "v1", "type": "service", "service": spec}
    )


def desired(
    computes: Sequence[Compute] = (),
    services: Sequence[tuple[str, Service]] = (),
    workspaces: Sequence[str] = (),
) -> DesiredState:
    return DesiredState(tuple(computes), tuple(services), tuple(workspaces))
