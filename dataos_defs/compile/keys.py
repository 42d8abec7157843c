"""Names Dagster accepts, derived from DataOS names: asset keys, op/job names, tags, owners.

Dagster is stricter than DataOS: op, job, check and group names match ``[A-Za-z0-9_]+``,
strict tag keys and values ``[A-Za-z0-9_.-]{0,63}`` (keys may have one ``ns/`` prefix), and
owners are e-mails or ``team:<name>``. Every rule here is a total function: an invalid
character becomes ``_`` and what still cannot be expressed is dropped, never an error.

>>> dataset_key("dataos://lakehouse:shop/customers?acl=rw")
AssetKey(['lakehouse', 'shop', 'customers'])
>>> dataset_key("dataos://lakehouse:sample?acl=rw", output_name="orders")
AssetKey(['lakehouse', 'sample', 'orders'])
>>> depot_resource_key("shop-pg")
'depot_shop_pg'
>>> op_name("public", "shop-daily", "ingest-customers")
'public__shop_daily__ingest_customers'
>>> tag_items(["Tier.Gold", "dataos:workspace:x", "PII.Email"])
{'Tier.Gold': '', 'dataos_workspace_x': '', 'PII.Email': ''}
>>> owner("ada@example.com"), owner("data-team")
('ada@example.com', 'team:data-team')
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from dagster import AssetKey

from dataos_defs.location.naming import name
from dataos_defs.manifest.udl import Udl

_INVALID_TAG = re.compile(r"[^A-Za-z0-9_.-]+")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TAG_LIMIT = 63
MARKER_PREFIX = "dataos"
"""First part of the key of a job that writes no dataset: ``dataos/<ws>/<workflow>/<job>``."""


def group_name(workspace: str) -> str:
    return name(workspace)


def depot_group(depot: str) -> str:
    return f"depot_{name(depot)}"


def depot_resource_key(depot: str) -> str:
    """The key of a depot's Dagster resource: ``depot_<name>`` (depot names are unique)."""
    return f"depot_{name(depot)}"


def dataset_key(udl: str, output_name: str | None = None) -> AssetKey:
    """``[depot, collection, dataset]``; a collection-level output address appends its name.

    The ``?acl`` part chooses credentials, not data, so it never changes the key.
    """
    parsed = Udl.parse(udl)
    parts = [parsed.depot]
    if parsed.collection:
        parts.append(parsed.collection)
        dataset = parsed.dataset or output_name
        if dataset:
            parts.append(dataset)
    return AssetKey(parts)


def marker_key(workspace: str, workflow: str, job: str) -> AssetKey:
    """The asset of a job that writes no dataset, so that it can take part in ordering."""
    return AssetKey([MARKER_PREFIX, workspace, workflow, job])


def udl_of(key: AssetKey) -> str:
    """The address a dataset key stands for (the inverse of :func:`dataset_key`)."""
    depot, *rest = key.path
    if not rest:
        return f"dataos://{depot}"
    collection, *dataset = rest
    return f"dataos://{depot}:{collection}" + (f"/{'/'.join(dataset)}" if dataset else "")


def tag_value(text: str) -> str | None:
    """A strict tag value, or None when even the sanitized text is too long."""
    value = _INVALID_TAG.sub("_", text)
    return value if len(value) <= _TAG_LIMIT else None


def tag_items(tags: Iterable[str]) -> dict[str, str]:
    """DataOS tags are free labels; each becomes a Dagster tag key with an empty value.

    Labels longer than Dagster allows are dropped here; callers keep the original list in
    metadata so that nothing the user wrote is lost.
    """
    out: dict[str, str] = {}
    for tag in tags:
        key = _INVALID_TAG.sub("_", tag.strip()).strip("_.-")
        if key and len(key) <= _TAG_LIMIT:
            out[key] = ""
    return out


def system_tags(**values: str) -> dict[str, str]:
    """``dataos/<name>: <value>`` tags; values that cannot be expressed are left out."""
    out = {}
    for key, raw in values.items():
        value = tag_value(raw)
        if value is not None:
            out[f"dataos/{key}"] = value
    return out


def owner(text: str | None) -> str | None:
    """An e-mail stays; any other DataOS owner (a user or team id) becomes ``team:<owner>``."""
    if not text or not text.strip():
        return None
    text = text.strip()
    return text if _EMAIL.match(text) else f"team:{text}"


_CHECK_OPERATORS = (
    (">=", " ge "),
    ("<=", " le "),
    ("!=", " ne "),
    ("<>", " ne "),
    (">", " gt "),
    ("<", " lt "),
    ("=", " eq "),
    ("%", " pct "),
)


def check_name(text: str) -> str:
    """A readable check name: ``missing_count(id) = 0`` -> ``missing_count_id_eq_0``."""
    for operator, word in _CHECK_OPERATORS:
        text = text.replace(operator, word)
    return name(text.lower())
