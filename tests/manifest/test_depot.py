"""Depot manifests: connection details per type, both generations, credentials and references."""

from __future__ import annotations

import pytest
from support import assert_invalid, assert_valid_example, valid_as

from dataos_defs.manifest.base import Reference
from dataos_defs.manifest.depot import Depot
from dataos_defs.manifest.depot_types import (
    DEPOT_KINDS,
    FileConnection,
    LakehouseConnection,
    PostgresConnection,
    S3Connection,
)


def valid(text: str) -> Depot:
    """The Depot of ``text``, which must validate without issues."""
    return valid_as(text, Depot, "depot.yaml")


V1_JDBC = """\
name: retail
version: v1
type: depot
depot:
  type: JDBC
  description: the retail database
  external: true
  connectionSecret:
    - acl: r
      type: key-value-properties
      data:
        username: reader
        password: s3cret
    - acl: rw
      data:
        username: writer
        password: 1234
      files:
        ca_file: ./ca.pem
  spec:
    subprotocol: postgresql
    host: db.example.com
    port: 5432
    database: retail
    params:
      sslmode: require
"""

V2_POSTGRES = """\
name: shoppg
version: v2alpha
type: depot
depot:
  type: postgresql
  external: true
  postgresql:
    host: 127.0.0.1
    port: 5432
    database: shop
  secrets:
    - name: shoppg-r
      keys: [shoppg-r]
    - name: shoppg-rw
      allkeys: true
"""

V2_S3 = """\
name: lake
version: v2alpha
type: depot
depot:
  type: S3
  compute: runnable-default
  s3:
    scheme: s3a
    bucket: tmdc-lake
    relativePath: /sanity
    format: iceberg
    region: us-east-1
  secrets:
    - name: lake-rw
      allKeys: true
"""

FILE = """\
name: landing
version: v2alpha
type: depot
depot:
  type: file
  file:
    path: data/landing
    format: CSV
    options:
      header: true
"""

LAKEHOUSE = """\
name: lakehouse
version: v2alpha
type: depot
depot:
  type: LAKEHOUSE
  lakehouse:
    warehouse: warehouse
    format: iceberg
"""

TRINO = """\
name: federated
version: v1
type: depot
depot:
  type: TRINO
  spec:
    host: trino.example.com
    port: 8443
    catalog: hive
    scheme: https
"""

KAFKA = """\
name: events
version: v1
type: depot
depot:
  type: KAFKA
  external: true
  spec:
    brokers: [broker1:9092, broker2:9092]
    schemaRegistryUrl: http://registry:8081/
"""

SNOWFLAKE_V1_SECRET_REF = """\
name: snow
version: v1
type: depot
depot:
  type: snowflake
  spec:
    warehouse: COMPUTE_WH
    url: abc.snowflakecomputing.com
    database: SALES
    schema: PUBLIC
  dataosSecrets:
    - name: snow-creds
      workspace: sandbox
"""

EXAMPLES = [V1_JDBC, V2_POSTGRES, V2_S3, FILE, LAKEHOUSE, TRINO, KAFKA, SNOWFLAKE_V1_SECRET_REF]


@pytest.mark.parametrize("text", EXAMPLES)
def test_valid_depots_validate_match_their_json_schema_and_round_trip(text: str) -> None:
    assert_valid_example(text, Depot, pin_version=True, file="depot.yaml")


def test_v1_spec_is_typed_by_the_depot_type() -> None:
    depot = valid(V1_JDBC)
    assert depot.depot.type == "JDBC"
    assert depot.depot.spec is not None
    assert depot.depot.connection is depot.depot.spec
    assert depot.depot.spec.model_dump(exclude_none=True) == {
        "subprotocol": "postgresql",
        "host": "db.example.com",
        "port": 5432,
        "database": "retail",
        "params": {"sslmode": "require"},
    }
    credentials = depot.depot.connectionSecret or []
    assert credentials[1].data == {"username": "writer", "password": "1234"}


def test_types_and_formats_are_normalised() -> None:
    postgres = valid(V2_POSTGRES)
    assert postgres.depot.type == "POSTGRESQL"
    assert isinstance(postgres.depot.connection, PostgresConnection)
    assert postgres.depot.connection.subprotocol == "postgresql"
    s3 = valid(V2_S3).depot.connection
    assert isinstance(s3, S3Connection) and s3.format == "ICEBERG"
    files = valid(FILE).depot.connection
    assert isinstance(files, FileConnection) and files.format == "csv"
    lake = valid(LAKEHOUSE).depot.connection
    assert isinstance(lake, LakehouseConnection) and lake.warehouse == "warehouse"


def test_every_type_has_a_connection_model() -> None:
    for kind in DEPOT_KINDS.values():
        assert kind.key in kind.keys
        assert kind.model.model_fields


def test_secret_paths_cover_every_inline_credential() -> None:
    assert valid(V1_JDBC).secret_paths() == [
        ("depot", "connectionSecret", 0, "data", "username"),
        ("depot", "connectionSecret", 0, "data", "password"),
        ("depot", "connectionSecret", 1, "data", "username"),
        ("depot", "connectionSecret", 1, "data", "password"),
        ("depot", "connectionSecret", 1, "files", "ca_file"),
    ]
    values = V1_JDBC.replace(
        "      data:\n        username: reader", "      values:\n        username: reader"
    )
    assert ("depot", "connectionSecret", 0, "values", "username") in valid(values).secret_paths()
    assert valid(V2_POSTGRES).secret_paths() == []


def test_references_name_instance_secrets_and_workspace_secrets() -> None:
    assert valid(V2_POSTGRES).references() == [
        Reference("instance-secret", "shoppg-r", None, ("depot", "secrets", 0, "name")),
        Reference("instance-secret", "shoppg-rw", None, ("depot", "secrets", 1, "name")),
    ]
    assert valid(SNOWFLAKE_V1_SECRET_REF).references() == [
        Reference("secret", "snow-creds", "sandbox", ("depot", "dataosSecrets", 0, "name"))
    ]


CASES: list[tuple[str, str, list[tuple[int, str, str]]]] = [
    (
        "unknown-type",
        V2_POSTGRES.replace("type: postgresql", "type: postgress"),
        [(5, "depot.type", "did you mean 'POSTGRES'")],
    ),
    (
        "unknown-connection-field",
        V1_JDBC.replace("    host: db", "    hots: db"),
        [
            (20, "depot.spec.host", "missing required field 'host'"),
            (
                22,
                "depot.spec.hots",
                "unknown field 'hots' for depot type JDBC (did you mean 'host'?)",
            ),
        ],
    ),
    (
        "jdbc-needs-subprotocol",
        V1_JDBC.replace("    subprotocol: postgresql\n", ""),
        [(20, "depot.spec.subprotocol", "missing required field 'subprotocol'")],
    ),
    (
        "spec-typed-by-type",
        KAFKA.replace("type: KAFKA", "type: S3"),
        [
            (7, "depot.spec.bucket", "missing required field 'bucket'"),
            (8, "depot.spec.brokers", "unknown field 'brokers' for depot type S3 (allowed: "),
            (9, "depot.spec.schemaRegistryUrl", "unknown field 'schemaRegistryUrl'"),
        ],
    ),
    (
        "block-does-not-match-type",
        V2_S3.replace("type: S3", "type: GCS"),
        [(7, "depot.s3", "depot type GCS takes its connection details under 'gcs', not 's3'")],
    ),
    (
        "v2alpha-uses-the-type-key",
        TRINO.replace("version: v1", "version: v2alpha"),
        [(6, "depot.spec", "v2alpha depots write their connection details under 'trino'")],
    ),
    (
        "connection-missing",
        KAFKA.replace(
            "  spec:\n    brokers: [broker1:9092, broker2:9092]\n    schemaRegistryUrl: http://registry:8081/\n",
            "",
        ),
        [(4, "depot", "depot type KAFKA needs connection details")],
    ),
    (
        "connection-twice",
        V1_JDBC + "  postgresql:\n    host: other\n",
        [(27, "depot.postgresql", "connection details given twice ('spec' and 'postgresql')")],
    ),
    (
        "v2alpha-with-inline-credentials",
        V2_POSTGRES + "  connectionSecret:\n    - acl: r\n      data: {username: u}\n",
        [(16, "depot.connectionSecret", "v2alpha depots reference instance-secrets")],
    ),
    (
        "two-credential-sets-for-one-acl",
        V1_JDBC.replace("    - acl: rw", "    - acl: r"),
        [(14, "depot.connectionSecret[1].acl", "a second credential set for acl 'r'")],
    ),
    (
        "empty-credential-set",
        V1_JDBC.replace("      files:\n        ca_file: ./ca.pem\n", "").replace(
            "      data:\n        username: writer\n        password: 1234\n", ""
        ),
        [(14, "depot.connectionSecret[1]", "needs 'data', 'files' or 'values'")],
    ),
    (
        "bad-acl",
        V1_JDBC.replace("acl: rw", "acl: w"),
        [(14, "depot.connectionSecret[1].acl", "not allowed")],
    ),
    (
        "bad-secret-type",
        V1_JDBC.replace("type: key-value-properties", "type: password"),
        [(10, "depot.connectionSecret[0].type", "not allowed")],
    ),
    (
        "bad-table-format",
        V2_S3.replace("format: iceberg", "format: orc"),
        [(11, "depot.s3.format", "'ORC' is not allowed")],
    ),
    (
        "bad-file-format",
        FILE.replace("format: CSV", "format: xlsx"),
        [(8, "depot.file.format", "'xlsx' is not allowed")],
    ),
    (
        "port-out-of-range",
        V2_POSTGRES.replace("port: 5432", "port: 70000"),
        [(9, "depot.postgresql.port", "less than or equal to 65535")],
    ),
    (
        "brokers-empty",
        KAFKA.replace("[broker1:9092, broker2:9092]", "[]"),
        [(8, "depot.spec.brokers", "at least 1")],
    ),
    (
        "misplaced-external",
        V2_POSTGRES.replace("    database: shop\n", "    database: shop\n    external: true\n"),
        [(11, "depot.postgresql.external", "unknown field 'external'")],
    ),
    (
        "section-name-differs",
        V2_POSTGRES.replace("  external: true\n", "  external: true\n  name: other\n"),
        [(7, "depot.name", "differs from the Resource name 'shoppg'")],
    ),
    (
        "hyphen-in-depot-name",
        LAKEHOUSE.replace("name: lakehouse", "name: lake-house"),
        [(1, "name", "lower-case letter followed by")],
    ),
    (
        "version",
        LAKEHOUSE.replace("version: v2alpha", "version: v2"),
        [(2, "version", "'v2' is not allowed")],
    ),
]


@pytest.mark.parametrize(("case", "text", "expect"), CASES, ids=[c[0] for c in CASES])
def test_invalid_depot(case: str, text: str, expect: list[tuple[int, str, str]]) -> None:
    assert_invalid(text, expect, "depot.yaml")
