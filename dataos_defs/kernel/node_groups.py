"""Compute Resources -> node groups: one per Compute, plus the platform's own ``system`` group.

The rules, in the order a Compute goes through them:

- **Which Computes.** Every Compute of the desired state, plus the built-in ones every
  instance has without a manifest (``runnable-default``, ``query-default``: a built-in
  Compute is named after its purpose). A manifest with a built-in's name replaces it.
  ``system`` is reserved for the group the platform itself (API server, Dagster) runs on.
- **Size.** Machine type, min, max and disk come from ``nodePools.<purpose>`` of the settings,
  each overridden by ``nodePools.computes.<compute name>`` when set there. An override for a
  Compute that does not exist is an error (a typo would silently size nothing).
- **Labels.** The Compute's ``nodeSelector`` (pods select these nodes by it) plus
  ``dataos.io/compute`` and ``dataos.io/purpose``. Labels in the ``kubernetes.io`` and
  ``k8s.io`` domains are skipped: the kubelet sets them itself (``kubernetes.io/os``) and the
  clouds refuse them on node groups.
- **Taints.** Each toleration becomes the taint its nodes carry, so that only the pods that
  tolerate it run there: ``Equal`` gives ``key=value:effect``; ``Exists`` with a key gives
  ``key:effect`` with an empty value. A toleration without an effect tolerates every effect;
  its taint is ``NoSchedule`` (keeps other pods off without evicting anything). A toleration
  without a key tolerates every taint and cannot become one: skipped. So are tolerations of
  the taints Kubernetes sets itself (``node.kubernetes.io/unreachable`` and the like). A node
  carries one taint per (key, effect): tolerations that ask for two values of one (key,
  effect) are an error; an ``Exists`` beside an ``Equal`` takes the ``Equal``'s value.
- **Names.** Cloud-safe: lower case, starting with a letter, ``[a-z0-9-]`` and at most 40
  characters on AWS and GCP, ``[a-z0-9]`` and at most 12 on Azure (AKS node pool names).
  A name that had to change gets a short hash of the Compute's name, so that two Computes
  never share a group even when their names are cut to the same prefix.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from typing import Final

from dataos_defs.kernel.errors import KernelError
from dataos_defs.kernel.model import (
    COMPUTE_LABEL,
    PURPOSE_LABEL,
    Cloud,
    NodeGroup,
    Purpose,
    Taint,
    TaintEffect,
)
from dataos_defs.kernel.settings import KernelSettings, PoolSize, PurposePool
from dataos_defs.manifest.compute import Compute, Toleration
from dataos_defs.manifest.registry import BUILTIN_RESOURCES

SYSTEM: Final = "system"
DEFAULT_EFFECT: TaintEffect = "NoSchedule"
MAX_NAME_LENGTH: dict[Cloud, int] = {"aws": 40, "gcp": 40, "azure": 12}
_NOT_ALLOWED: dict[Cloud, re.Pattern[str]] = {
    "aws": re.compile(r"[^a-z0-9-]"),
    "gcp": re.compile(r"[^a-z0-9-]"),
    "azure": re.compile(r"[^a-z0-9]"),
}
_HASH_LENGTH = 6
_LABEL_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_KUBERNETES_DOMAINS = ("kubernetes.io", "k8s.io")


def node_groups(
    settings: KernelSettings, cloud: Cloud, computes: Sequence[Compute]
) -> tuple[NodeGroup, ...]:
    """The system group and one group per Compute (built-ins included), sorted by name."""
    everything = with_builtin_computes(computes)
    if any(compute.name == SYSTEM for compute in everything):
        raise KernelError(
            f"the name '{SYSTEM}' is reserved for the platform's own node group",
            f"compute {SYSTEM}",
            "rename this Compute",
        )
    _refuse_unknown_overrides(settings, everything)
    groups = [_system_group(settings, cloud)]
    groups.extend(_compute_group(settings, cloud, compute) for compute in everything)
    _refuse_shared_names(groups)
    return tuple(sorted(groups, key=lambda group: group.name))


def with_builtin_computes(computes: Iterable[Compute]) -> list[Compute]:
    """``computes`` plus the built-in Computes no manifest replaces, sorted by name."""
    by_name = {compute.name: compute for compute in computes}
    for name in BUILTIN_RESOURCES["compute"] - by_name.keys():
        purpose = name.partition("-")[0]
        by_name[name] = Compute.model_validate(
            {
                "name": name,
                "version": "v1",
                "type": "compute",
                "layer": "system",
                "compute": {"dataplane": "hub", "purpose": purpose},
            }
        )
    return [by_name[name] for name in sorted(by_name)]


def node_group_name(compute: str, cloud: Cloud) -> str:
    """A name the cloud accepts for the group of ``compute``: the Compute's own name when it
    is one, else its allowed characters cut short plus a hash of the whole name."""
    limit = MAX_NAME_LENGTH[cloud]
    safe = _NOT_ALLOWED[cloud].sub("", compute.lower())
    if safe == compute and len(safe) <= limit and safe[:1].isalpha():
        return safe
    digest = hashlib.sha256(compute.encode()).hexdigest()[:_HASH_LENGTH]
    separator = "" if cloud == "azure" else "-"
    head = safe if safe[:1].isalpha() else "n" + safe
    head = head[: limit - _HASH_LENGTH - len(separator)].rstrip("-")
    return f"{head}{separator}{digest}"


def _system_group(settings: KernelSettings, cloud: Cloud) -> NodeGroup:
    pool = settings.nodePools.system
    _check_bounds(pool.min, pool.max, f"nodePools.{SYSTEM}")
    return NodeGroup(
        name=node_group_name(SYSTEM, cloud),
        compute=SYSTEM,
        purpose=SYSTEM,
        machine_type=getattr(pool.machineType, cloud),
        min_size=pool.min,
        max_size=pool.max,
        disk_gb=pool.diskGb,
        labels={COMPUTE_LABEL: SYSTEM, PURPOSE_LABEL: SYSTEM},
    )


def _compute_group(settings: KernelSettings, cloud: Cloud, compute: Compute) -> NodeGroup:
    purpose: Purpose = compute.compute.purpose
    pool: PurposePool = getattr(settings.nodePools, purpose)
    override = settings.nodePools.computes.get(compute.name, PoolSize())
    low = pool.min if override.min is None else override.min
    high = pool.max if override.max is None else override.max
    overridden = override.min is not None or override.max is not None
    where = f"nodePools.computes.{compute.name}" if overridden else f"nodePools.{purpose}"
    _check_bounds(low, high, where)
    return NodeGroup(
        name=node_group_name(compute.name, cloud),
        compute=compute.name,
        purpose=purpose,
        machine_type=getattr(override.machineType or pool.machineType, cloud),
        min_size=low,
        max_size=high,
        disk_gb=override.diskGb or pool.diskGb,
        labels=node_labels(compute),
        taints=node_taints(compute),
        gpu=purpose == "gpu",
    )


def node_labels(compute: Compute) -> dict[str, str]:
    """The node selector (minus Kubernetes' own labels) plus the compute and purpose labels."""
    pool = compute.compute.nodePool
    own = {COMPUTE_LABEL: compute.name, PURPOSE_LABEL: compute.compute.purpose}
    labels = dict(own)
    for key, value in ((pool.nodeSelector or {}) if pool else {}).items():
        where = f"compute {compute.name}: compute.nodePool.nodeSelector.{key}"
        _check_label(key, value, where)
        if key in own and own[key] != value:
            raise KernelError(
                f"label '{key}' is set by the kernel to '{own[key]}', not '{value}'",
                where,
                f"remove it or write '{own[key]}'",
            )
        if not _kubernetes_domain(key):
            labels[key] = value
    return dict(sorted(labels.items()))


def node_taints(compute: Compute) -> tuple[Taint, ...]:
    """The taints that keep every pod but the Compute's own off its nodes (rules above)."""
    pool = compute.compute.nodePool
    values: dict[tuple[str, TaintEffect], set[str]] = {}
    for index, toleration in enumerate((pool.tolerations or []) if pool else []):
        if toleration.key is None or _kubernetes_domain(toleration.key):
            continue
        where = f"compute {compute.name}: compute.nodePool.tolerations[{index}]"
        _check_label(toleration.key, toleration.value or "", where)
        found = values.setdefault((toleration.key, toleration.effect or DEFAULT_EFFECT), set())
        found.update(_taint_values(toleration))
        if len(found) > 1:
            raise KernelError(
                f"tolerations ask for taint '{toleration.key}' with values "
                f"{', '.join(sorted(found))}; a node carries one value per key and effect",
                where,
                "keep one value, or use operator: Exists",
            )
    taints = [
        Taint(key=key, value=next(iter(found), ""), effect=effect)
        for (key, effect), found in values.items()
    ]
    return tuple(sorted(taints, key=lambda taint: (taint.key, taint.effect)))


def _taint_values(toleration: Toleration) -> set[str]:
    """The taint values a toleration pins: one for ``Equal``, none for ``Exists`` (any)."""
    return {toleration.value or ""} if toleration.operator == "Equal" else set()


def _kubernetes_domain(key: str) -> bool:
    domain = key.rpartition("/")[0]
    return any(domain == d or domain.endswith("." + d) for d in _KUBERNETES_DOMAINS)


def _check_label(key: str, value: str, where: str) -> None:
    """Kubernetes' rules for label (and taint) keys and values, checked before a cloud API
    refuses them halfway through an apply."""
    prefix, _, name = key.rpartition("/")
    key_ok = bool(_LABEL_NAME.match(name)) and (
        not prefix or (len(prefix) <= 253 and bool(_DNS_SUBDOMAIN.match(prefix)))
    )
    if not key_ok:
        raise KernelError(
            f"'{key}' is not a valid Kubernetes label or taint key",
            where,
            "an optional DNS prefix and '/', then at most 63 letters, digits, '-', '_' or '.'",
        )
    if not _LABEL_VALUE.match(value):
        raise KernelError(
            f"'{value}' is not a valid Kubernetes label or taint value",
            where,
            "at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric",
        )


def _check_bounds(low: int, high: int, where: str) -> None:
    if low > high:
        raise KernelError(f"min ({low}) is larger than max ({high})", where, "make min at most max")


def _refuse_unknown_overrides(settings: KernelSettings, computes: Sequence[Compute]) -> None:
    known = {compute.name for compute in computes}
    for name in sorted(settings.nodePools.computes):
        if name not in known:
            raise KernelError(
                f"no Compute is named '{name}'",
                f"nodePools.computes.{name}",
                "known Computes: " + ", ".join(sorted(known)),
            )


def _refuse_shared_names(groups: Sequence[NodeGroup]) -> None:
    owners: dict[str, str] = {}
    for group in groups:
        other = owners.setdefault(group.name, group.compute)
        if other != group.compute:
            raise KernelError(
                f"Computes '{other}' and '{group.compute}' would share node group '{group.name}'",
                f"compute {group.compute}",
                "rename one of them",
            )
