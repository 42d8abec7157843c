"""Trino catalog properties generated from a cluster's depots: what each kind of depot
becomes, overrides, extra catalogs, secret references, and never a secret value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from dataos_defs.manifest.cluster import Cluster
from dataos_defs.manifest.depot import Depot
from dataos_defs.minerva.catalogs import (
    CatalogError,
    SecretEnv,
    render_properties,
    secret_envs,
    trino_catalogs,
)

ROOT = Path(__file__).resolve().parents[2]
SECRETS = ("inline-s3cret-1", "uri-s3cret-2")


def example() -> tuple[Cluster, dict[str, Depot]]:
    docs = list(yaml.safe_load_all((ROOT / "resources" / "depots.yaml").read_text()))
    for doc in docs:
        if doc["name"] == "shoppg":
            doc["depot"]["postgresql"].update(host="shop-db.internal", port=5432)
    depots = {doc["name"]: Depot.model_validate(doc) for doc in docs}
    cluster = yaml.safe_load((ROOT / "resources" / "cluster.yaml").read_text())
    return Cluster.model_validate(cluster), depots


def depot(name: str, section: dict[str, Any], version: str = "v2alpha") -> Depot:
    return Depot.model_validate(
        {"name": name, "version": version, "type": "depot", "depot": section}
    )


def cluster(*depots: str | dict[str, Any], catalogs: list[dict[str, Any]] | None = None) -> Cluster:
    entries = [{"address": f"dataos://{d}"} if isinstance(d, str) else d for d in depots]
    minerva: dict[str, Any] = {"depots": entries}
    if catalogs:
        minerva["catalogs"] = catalogs
    return Cluster.model_validate(
        {
            "name": "c",
            "version": "v1",
            "type": "cluster",
            "cluster": {"type": "minerva", "minerva": minerva},
        }
    )


def test_the_example_cluster() -> None:
    found = trino_catalogs(*example())
    assert found == {
        "shoppg": {
            "connector.name": "postgresql",
            "connection-url": "jdbc:postgresql://shop-db.internal:5432/shop?sslmode=disable",
            "connection-user": "${ENV:MINERVA_SHOPPG_USER}",
            "connection-password": "${ENV:MINERVA_SHOPPG_PASSWORD}",
        },
        "landing": {
            "connector.name": "hive",
            "hive.metastore": "file",
            "hive.metastore.catalog.dir": "file:///var/lib/dataos/data/landing/.trino-metastore",
            "fs.hadoop.enabled": "true",
        },
        "lakehouse": {
            "connector.name": "iceberg",
            "iceberg.catalog.type": "jdbc",
            "iceberg.jdbc-catalog.catalog-name": "lakehouse",
            "iceberg.jdbc-catalog.default-warehouse-dir": "file:///var/lib/dataos/warehouse",
            "iceberg.jdbc-catalog.driver-class": "org.sqlite.JDBC",
            "iceberg.jdbc-catalog.connection-url": "jdbc:sqlite:/var/lib/dataos/warehouse/catalog.db",
            "fs.hadoop.enabled": "true",
        },
    }
    assert secret_envs(*example()) == [
        SecretEnv("MINERVA_SHOPPG_USER", "shoppg-r", "username"),
        SecretEnv("MINERVA_SHOPPG_PASSWORD", "shoppg-r", "password"),
    ]


def test_rendered_as_a_properties_file() -> None:
    text = render_properties(trino_catalogs(*example())["shoppg"])
    assert text == (
        "connector.name=postgresql\n"
        "connection-url=jdbc:postgresql://shop-db.internal:5432/shop?sslmode=disable\n"
        "connection-user=${ENV:MINERVA_SHOPPG_USER}\n"
        "connection-password=${ENV:MINERVA_SHOPPG_PASSWORD}\n"
    )
    assert render_properties({"a key=": "line\nbreak\\", "b": " lead"}) == (
        "a\\ key\\==line\\nbreak\\\\\nb=\\ lead\n"
    )


def _many() -> tuple[Cluster, dict[str, Depot]]:
    depots = {
        "retail": depot(
            "retail",
            {
                "type": "JDBC",
                "spec": {"subprotocol": "postgresql", "host": "db", "database": "retail"},
                "connectionSecret": [
                    {"acl": "r", "data": {"username": "reader", "password": SECRETS[0]}}
                ],
            },
            version="v1",
        ),
        "crm": depot("crm", {"type": "MYSQL", "mysql": {"host": "mysql", "port": 3307}}),
        "erp": depot("erp", {"type": "MSSQL", "mssql": {"host": "mssql", "database": "erp"}}),
        "ledger": depot("ledger", {"type": "ORACLE", "oracle": {"host": "ora", "service": "ORCL"}}),
        "dwh": depot("dwh", {"type": "REDSHIFT", "redshift": {"host": "rs", "database": "dw"}}),
        "icerest": depot(
            "icerest",
            {
                "type": "LAKEHOUSE",
                "lakehouse": {"warehouse": "s3://bucket/wh", "uri": "https://rest.internal/api"},
            },
        ),
        "icepg": depot(
            "icepg",
            {
                "type": "ICEBERG",
                "iceberg": {
                    "warehouse": "gs://bucket/wh",
                    "catalog": "main",
                    "uri": f"postgresql+psycopg://cat:{SECRETS[1]}@catalog-db:5433/iceberg",
                },
                "secrets": [{"name": "icepg-rw"}, {"name": "icepg-r"}],
            },
        ),
        "drops": depot("drops", {"type": "FILE", "file": {"path": "s3://bucket/drops"}}),
        "stream": depot("stream", {"type": "KAFKA", "kafka": {"brokers": ["k:9092"]}}),
    }
    overridden = {"address": "dataos://dwh", "properties": {"redshift.fetch-size": 500}}
    cached = {
        "name": "cache",
        "type": "memory",
        "properties": {"memory.max-data-per-node": "128MB"},
    }
    made = cluster(
        "retail", "crm", "erp", "ledger", overridden, "icerest", "icepg", "drops",
        catalogs=[cached],
    )  # fmt: skip
    return made, depots


def test_every_kind_of_depot() -> None:
    found = trino_catalogs(*_many())
    urls = {name: props.get("connection-url") for name, props in found.items()}
    assert urls["retail"] == "jdbc:postgresql://db:5432/retail"
    assert urls["crm"] == "jdbc:mysql://mysql:3307"
    assert urls["erp"] == "jdbc:sqlserver://mssql:1433;databaseName=erp"
    assert urls["ledger"] == "jdbc:oracle:thin:@//ora:1521/ORCL"
    assert urls["dwh"] == "jdbc:redshift://rs:5439/dw"
    assert found["dwh"]["redshift.fetch-size"] == "500"
    assert found["icerest"] == {
        "connector.name": "iceberg",
        "iceberg.catalog.type": "rest",
        "iceberg.rest-catalog.uri": "https://rest.internal/api",
        "iceberg.rest-catalog.warehouse": "s3://bucket/wh",
        "fs.native-s3.enabled": "true",
    }
    assert found["icepg"] == {
        "connector.name": "iceberg",
        "iceberg.catalog.type": "jdbc",
        "iceberg.jdbc-catalog.catalog-name": "main",
        "iceberg.jdbc-catalog.default-warehouse-dir": "gs://bucket/wh",
        "iceberg.jdbc-catalog.driver-class": "org.postgresql.Driver",
        "iceberg.jdbc-catalog.connection-url": "jdbc:postgresql://catalog-db:5433/iceberg",
        "iceberg.jdbc-catalog.connection-user": "${ENV:MINERVA_ICEPG_USER}",
        "iceberg.jdbc-catalog.connection-password": "${ENV:MINERVA_ICEPG_PASSWORD}",
        "fs.native-gcs.enabled": "true",
    }
    assert found["drops"]["hive.metastore.catalog.dir"] == "s3://bucket/drops/.trino-metastore"
    assert found["drops"]["fs.native-s3.enabled"] == "true"
    assert found["cache"] == {"connector.name": "memory", "memory.max-data-per-node": "128MB"}


def test_secret_references_name_the_read_secret() -> None:
    envs = {env.env: (env.secret, env.key) for env in secret_envs(*_many())}
    assert envs["MINERVA_RETAIL_PASSWORD"] == ("retail-r", "password")
    assert envs["MINERVA_ICEPG_USER"] == ("icepg-r", "username")
    assert "MINERVA_ICEREST_USER" not in envs


def test_no_secret_value_in_any_output() -> None:
    made, depots = _many()
    text = "".join(render_properties(p) for p in trino_catalogs(made, depots).values())
    text += repr(secret_envs(made, depots))
    for secret in SECRETS:
        assert secret not in text
    assert "reader" not in text


def test_an_override_can_supply_a_connector_for_any_depot() -> None:
    _, depots = _many()
    custom = {
        "address": "dataos://stream",
        "properties": {"connector.name": "kafka", "kafka.nodes": "k:9092"},
    }
    assert trino_catalogs(cluster(custom), depots)["stream"]["connector.name"] == "kafka"
    with pytest.raises(
        CatalogError, match=r"depot 'stream' \(type KAFKA\).*depots\[\]\.properties"
    ):
        trino_catalogs(cluster("stream"), depots)


def test_missing_depots_and_clashing_names_are_errors() -> None:
    _, depots = _many()
    with pytest.raises(CatalogError, match="depot 'nope'"):
        trino_catalogs(cluster("nope"), depots)
    clash = cluster("crm", catalogs=[{"name": "crm", "type": "memory"}])
    with pytest.raises(CatalogError, match="catalog 'crm'"):
        trino_catalogs(clash, depots)
