"""The governed lakehouse several test worlds share: a LAKEHOUSE depot whose
``shop.customers_360`` e-mails carry ``PII.Email`` (the example's mask policies hash them),
and the Minerva cluster ``minervashop`` serving it."""

from __future__ import annotations

from typing import Any

LAKEHOUSE: dict[str, Any] = {
    "name": "lakehouse",
    "version": "v2alpha",
    "type": "depot",
    "layer": "user",
    "depot": {
        "type": "LAKEHOUSE",
        "lakehouse": {"warehouse": "warehouse", "format": "iceberg"},
        "datasets": [
            {
                "collection": "shop",
                "dataset": "customers_360",
                "columns": [{"name": "email", "tags": ["PII.Email"]}],
            }
        ],
    },
}
UNTAGGED_LAKEHOUSE: dict[str, Any] = {
    **LAKEHOUSE,
    "depot": {"type": "LAKEHOUSE", "lakehouse": {"warehouse": "warehouse", "format": "iceberg"}},
}
"""The same depot declaring no tags: what a catalog tags is all there is."""
CLUSTER: dict[str, Any] = {
    "name": "minervashop",
    "version": "v1",
    "type": "cluster",
    "cluster": {
        "type": "minerva",
        "minerva": {"replicas": 1, "depots": [{"address": "dataos://lakehouse"}]},
    },
}
