"""The real OpenMetadata SDK (openmetadata-ingestion 2.0.7, in ``.venv-metis``) against Metis."""

from __future__ import annotations

from typing import Any

import pytest

from dataos_defs.adapters.openmetadata import metis_host_port
from tests.metis.metis_helpers import client, ok, shop_catalog
from tests.metis.sdk_support import (
    ADD_LINEAGE,
    HEALTH_CHECK,
    PATCH_COLUMN_TAGS,
    PIPELINE_SERVICE_AND_PIPELINE,
    require_metis_python,
    run_snippet,
)

pytestmark = pytest.mark.slow

CLASSIFICATION_AND_TAGS = """
from metadata.generated.schema.api.classification.createClassification import (
    CreateClassificationRequest,
)
from metadata.generated.schema.api.classification.createTag import CreateTagRequest
from metadata.generated.schema.entity.classification.tag import Tag

metadata = metis_client()
classification = metadata.create_or_update(
    CreateClassificationRequest(name="PII", description="Personal data")
)
tags = [
    metadata.create_or_update(
        CreateTagRequest(classification="PII", name=name, description=f"{name} values")
    )
    for name in INPUT["tags"]
]
fetched = metadata.get_by_name(Tag, "PII.Email", nullable=False)
emit({"classification": classification, "tags": tags, "fetched": fetched})
"""


RACING_COLUMN_TAG_PATCH = """
import json
import os

import requests
from metadata.generated.schema.entity.data.table import Table
from metadata.generated.schema.type.tagLabel import LabelType, State, TagLabel, TagSource
from metadata.ingestion.models.table_metadata import ColumnTag
from metadata.ingestion.ometa.mixins.patch_mixin_utils import PatchOperation

metadata = metis_client()
table = metadata.get_by_name(Table, INPUT["table"], fields=["tags", "columns"], nullable=False)
column = next(c for c in table.columns if c.name.root == INPUT["column"])
original_patch = metadata.client.patch
sent = []


def racing_patch(path, data=None, headers=None):
    # Another writer changes the table between the SDK's read and its first write.
    if not sent:
        requests.patch(
            os.environ["METIS_HOST_PORT"] + "/v1/tables/" + str(table.id.root),
            data=json.dumps([{"op": "add", "path": "/description", "value": "concurrent"}]),
            headers={
                "Authorization": "Bearer " + os.environ["METIS_TOKEN"],
                "Content-Type": "application/json-patch+json",
            },
            timeout=30,
        ).raise_for_status()
    sent.append((headers or {}).get("If-Match"))
    return original_patch(path, data=data, headers=headers)


metadata.client.patch = racing_patch
label = TagLabel(
    tagFQN=INPUT["tag"],
    labelType=LabelType.Manual,
    state=State.Confirmed,
    source=TagSource.Classification,
)
patched = metadata.patch_column_tags(
    table,
    [ColumnTag(column_fqn=column.fullyQualifiedName.root, tag_label=label)],
    operation=PatchOperation.ADD,
)
emit({"patched": patched, "ifMatch": sent})
"""


@pytest.fixture(scope="module")
def sdk(metis_server: Any) -> dict[str, str]:
    require_metis_python()
    with client(metis_server.url, metis_server.api_key) as http:
        shop_catalog(http, "sdkpg")
    return {"host_port": metis_host_port(metis_server.url), "token": metis_server.api_key}


def test_the_client_accepts_the_server(sdk: dict[str, str]) -> None:
    output = run_snippet(HEALTH_CHECK, **sdk).check()
    assert output["healthy"] is True
    assert output["serverVersion"].startswith("2.0")


def test_classification_tags_and_column_tag_patch(sdk: dict[str, str], metis_server: Any) -> None:
    output = run_snippet(CLASSIFICATION_AND_TAGS, input={"tags": ["Email", "Phone"]}, **sdk).check()
    assert output["fetched"]["fullyQualifiedName"] == "PII.Email"
    assert output["fetched"]["classification"]["name"] == "PII"
    table = "sdkpg.shop.public.customers"
    patched = run_snippet(
        PATCH_COLUMN_TAGS, input={"table": table, "column": "email", "tag": "PII.Email"}, **sdk
    ).check()["patched"]
    assert patched is not None
    email = next(c for c in patched["columns"] if c["name"] == "email")
    assert [t["tagFQN"] for t in email["tags"]] == ["PII.Email"]
    with client(metis_server.url, metis_server.api_key) as http:
        stored = ok(http.get(f"/tables/name/{table}"))
    assert stored["version"] == 0.2
    assert [t["tagFQN"] for t in stored["columns"][1]["tags"]] == ["PII.Email"]
    removed = run_snippet(
        PATCH_COLUMN_TAGS,
        input={"table": table, "column": "email", "tag": "PII.Email", "operation": "remove"},
        **sdk,
    ).check()["patched"]
    assert next(c for c in removed["columns"] if c["name"] == "email")["tags"] == []


def test_pipeline_with_status_and_lineage_with_columns(sdk: dict[str, str]) -> None:
    pushed = run_snippet(
        PIPELINE_SERVICE_AND_PIPELINE,
        input={
            "service": "dataos-dagster",
            "pipeline": "customers_360",
            "tasks": [{"name": "load", "downstreamTasks": ["join"]}, {"name": "join"}],
            "status": {
                "executionStatus": "Successful",
                "timestamp": 1_700_000_000_000,
                "taskStatus": [{"name": "load", "executionStatus": "Successful"}],
            },
        },
        **sdk,
    ).check()
    assert pushed["pipeline"]["fullyQualifiedName"] == "dataos-dagster.customers_360"
    assert pushed["withStatus"]["pipelineStatus"]["executionStatus"] == "Successful"
    source, target = "sdkpg.shop.public.customers", "sdkpg.shop.public.orders"
    output = run_snippet(
        ADD_LINEAGE,
        input={
            "from": source,
            "to": target,
            "pipeline": "dataos-dagster.customers_360",
            "sqlQuery": "insert into orders select id, email from customers",
            "columns": [{"fromColumns": [f"{source}.email"], "toColumn": f"{target}.email"}],
        },
        **sdk,
    ).check()
    assert output["error"] is None
    graph = output["lineage"]
    assert graph["entity"]["fullyQualifiedName"] == source
    assert [n["fullyQualifiedName"] for n in graph["nodes"]] == [target]
    (edge,) = graph["downstreamEdges"]
    details = edge["lineageDetails"]
    assert details["pipeline"]["fullyQualifiedName"] == "dataos-dagster.customers_360"
    assert details["columnsLineage"] == [
        {"fromColumns": [f"{source}.email"], "toColumn": f"{target}.email"}
    ]


def test_a_concurrent_change_makes_the_sdk_refetch_and_retry(
    sdk: dict[str, str], metis_server: Any
) -> None:
    table = "sdkpg.shop.public.orders"
    with client(metis_server.url, metis_server.api_key) as http:
        ok(http.put("/classifications", json={"name": "Tier", "description": "tiers"}), 200, 201)
        ok(
            http.put("/tags", json={"classification": "Tier", "name": "Gold", "description": "g"}),
            200,
            201,
        )
        before = ok(http.get(f"/tables/name/{table}"))["version"]
    output = run_snippet(
        RACING_COLUMN_TAG_PATCH, input={"table": table, "column": "id", "tag": "Tier.Gold"}, **sdk
    ).check()
    first, second = output["ifMatch"][:2]
    assert first == f'W/"{before}"', "the first write carried the version the SDK had read"
    assert second == f'W/"{round(before + 0.1, 1)}"', "refused with 412, it refetched and retried"
    patched = output["patched"]
    assert patched["description"] == "concurrent", "the other writer's change was kept"
    assert [t["tagFQN"] for t in patched["columns"][0]["tags"]] == ["Tier.Gold"]
