"""Properties of the node-group rules over random Computes: what every taint, label and name
must satisfy whatever tolerations, node selectors and names users write."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from dataos_defs.kernel.errors import KernelError
from dataos_defs.kernel.model import CLOUDS, COMPUTE_LABEL, PURPOSE_LABEL, Cloud
from dataos_defs.kernel.node_groups import (
    MAX_NAME_LENGTH,
    node_group_name,
    node_labels,
    node_taints,
)
from dataos_defs.manifest.base import MAX_NAME_LENGTH as MAX_RESOURCE_NAME
from dataos_defs.manifest.base import RESOURCE_NAME

from .mapping_support import compute

KEYS = ["dedicated", "team", "example.com/pool", "nvidia.com/gpu", "node.kubernetes.io/x"]
VALUES = ["a", "b", "gpu-1", "x.y_z"]
EFFECTS = [None, "NoSchedule", "PreferNoSchedule", "NoExecute"]
SAFE_NAME: dict[Cloud, re.Pattern[str]] = {
    "aws": re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$"),
    "gcp": re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$"),
    "azure": re.compile(r"^[a-z][a-z0-9]*$"),
}


@st.composite
def tolerations(draw: st.DrawFn) -> dict[str, Any]:
    key = draw(st.sampled_from([None, *KEYS]))
    if key is None:
        return {"operator": "Exists"}
    toleration: dict[str, Any] = {"key": key, "effect": draw(st.sampled_from(EFFECTS))}
    if draw(st.booleans()):
        toleration.update(operator="Equal", value=draw(st.sampled_from(VALUES)))
    else:
        toleration["operator"] = "Exists"
    return toleration


resource_names = st.from_regex(RESOURCE_NAME, fullmatch=True).filter(
    lambda name: len(name) <= MAX_RESOURCE_NAME
)


@settings(max_examples=300, deadline=None)
@given(st.lists(tolerations(), max_size=8))
def test_taints_are_one_per_key_and_effect_from_keyed_tolerations(
    written: list[dict[str, Any]],
) -> None:
    pinned: dict[tuple[str, str], set[str]] = {}
    for toleration in written:
        if "key" in toleration and not toleration["key"].startswith("node.kubernetes.io/"):
            slot = (toleration["key"], toleration["effect"] or "NoSchedule")
            values = pinned.setdefault(slot, set())
            if toleration["operator"] == "Equal":
                values.add(toleration["value"])
    conflict = any(len(values) > 1 for values in pinned.values())
    try:
        taints = node_taints(compute("c", tolerations=written))
    except KernelError:
        assert conflict
        return
    assert not conflict
    assert {(t.key, t.effect) for t in taints} == set(pinned)
    assert len(taints) == len(pinned)
    for taint in taints:
        assert taint.value == next(iter(pinned[(taint.key, taint.effect)]), "")


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(st.sampled_from([*KEYS[:4], "kubernetes.io/os"]), st.sampled_from(VALUES)),
    st.sampled_from(["runnable", "query", "gpu"]),
)
def test_labels_keep_the_selector_and_always_name_compute_and_purpose(
    selector: dict[str, str], purpose: str
) -> None:
    labels = node_labels(compute("c", purpose, selector))
    assert labels[COMPUTE_LABEL] == "c"
    assert labels[PURPOSE_LABEL] == purpose
    own = {k: v for k, v in selector.items() if not k.startswith("kubernetes.io/")}
    assert labels == {**own, COMPUTE_LABEL: "c", PURPOSE_LABEL: purpose}
    assert list(labels) == sorted(labels)


@settings(max_examples=200, deadline=None)
@given(st.sets(resource_names, min_size=1, max_size=30), st.sampled_from(CLOUDS))
def test_group_names_are_cloud_safe_stable_and_unique(names: set[str], cloud: Cloud) -> None:
    made = {name: node_group_name(name, cloud) for name in names}
    assert len(set(made.values())) == len(made)
    for name, group in made.items():
        assert SAFE_NAME[cloud].match(group), group
        assert len(group) <= MAX_NAME_LENGTH[cloud]
        assert node_group_name(name, cloud) == group
