"""Where depots live, as comparable places (manifest/depot_locations.py): every connection
model, the conservative folding of hosts and parameters, and object-store prefixes that can
never climb out of their bucket."""

from __future__ import annotations

import doctest
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dataos_defs.manifest import depot_locations
from dataos_defs.manifest.depot import Depot
from dataos_defs.manifest.depot_locations import Locations, Place, path_kind


def locations(kind: str, body: dict[str, Any] | None, version: str = "v2alpha") -> Locations:
    section: dict[str, Any] = {"type": kind.upper()}
    if body is not None:
        section[kind] = body
    depot = Depot.model_validate(
        {"name": "d", "version": version, "type": "depot", "depot": section}
    )
    return depot_locations.depot_locations(depot.depot)


def shown(kind: str, body: dict[str, Any] | None) -> list[str]:
    return [str(p) for p in locations(kind, body).places]


def test_the_doctests_hold() -> None:
    result = doctest.testmod(depot_locations)
    assert result.attempted > 5 and result.failed == 0


@pytest.mark.parametrize(
    ("kind", "body", "expected"),
    [
        ("file", {"path": "s3://Bucket/a//b/./c/"}, ["s3://bucket/a/b/c"]),
        ("file", {"path": "s3n://bucket/x/../y"}, ["s3://bucket/y"]),
        ("file", {"path": "gcs://b/../../etc"}, ["gs://b/etc"]),
        ("file", {"path": "abfss://Data@Acct.dfs.core.windows.net/raw"}, ["azure://acct/data/raw"]),
        ("file", {"path": "az://data/raw"}, ["every Azure account (the account is configured)"]),
        ("s3", {"bucket": "Shop", "relativePath": "/lake/"}, ["s3://shop/lake"]),
        ("gcs", {"bucket": "shop"}, ["gs://shop"]),
        ("abfss", {"account": "acct", "container": "c", "relativePath": "x"}, ["azure://acct/c/x"]),
        ("postgresql", {"host": "DB.internal", "database": "shop"}, ["db://db.internal:5432/shop"]),
        (
            "postgresql",
            {"host": "/run/pg", "port": 5433, "database": "s"},
            ["db://localhost:5433/s"],
        ),
        ("postgresql", {"host": "::1"}, ["db://localhost:5432"]),
        ("mysql", {"host": "m", "database": "crm"}, ["db://m:3306/crm"]),
        ("jdbc", {"subprotocol": "sqlserver", "host": "m", "database": "x"}, ["db://m:1433/x"]),
        ("jdbc", {"subprotocol": "exotic", "host": "m", "database": "x"}, ["db://m/x"]),
        ("oracle", {"host": "o", "service": "ORCL"}, ["db://o:1521/ORCL"]),
        (
            "redshift",
            {"host": "r", "database": "w", "bucket": "unload"},
            ["db://r:5439/w", "s3://unload"],
        ),
        ("trino", {"host": "t", "catalog": "Hive"}, ["trino://t:8080/hive"]),
        ("kafka", {"brokers": ["k1:9093", "k2"]}, ["kafka://k1:9093", "kafka://k2:9092"]),
        ("elasticsearch", {"nodes": ["http://es:9201"]}, ["search://es:9201"]),
        ("mongodb", {"nodes": ["m1"]}, ["mongodb://m1:27017"]),
        ("bigquery", {"project": "P"}, ["bigquery://p"]),
        ("bigquery", None, ["bigquery://"]),
        (
            "snowflake",
            {"url": "https://a.snowflakecomputing.com", "database": "DB", "warehouse": "w"},
            ["snowflake://a.snowflakecomputing.com/db"],
        ),
        (
            "eventhub",
            {"endpoint": "sb://ns.servicebus.windows.net/"},
            ["eventhub://ns.servicebus.windows.net"],
        ),
    ],
)
def test_each_connection_model_has_its_places(
    kind: str, body: dict[str, Any] | None, expected: list[str]
) -> None:
    assert shown(kind, body) == expected


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"dbname": "hr"}, ["db://h:5432/shop", "db://h:5432/hr"]),
        ({"host": "127.0.0.1"}, ["db://h:5432/shop", "db://localhost:5432/shop"]),
        (
            {"hostaddr": "10.0.0.9", "port": "6432"},
            [
                "db://h:5432/shop",
                "db://10.0.0.9:5432/shop",
                "db://h:6432/shop",
                "db://10.0.0.9:6432/shop",
            ],
        ),
        ({"service": "prod"}, ["every database (params.service names the server)"]),
        (
            {"dbname": "host=other dbname=x"},
            ["every database (a connection string as database name)"],
        ),
        ({"sslmode": "disable"}, ["db://h:5432/shop"]),
    ],
)
def test_connection_parameters_that_choose_the_server_widen_the_places(
    params: dict[str, str], expected: list[str]
) -> None:
    body = {"host": "h", "database": "shop", "params": params}
    assert shown("postgresql", body) == expected


def test_a_postgres_depot_without_a_database_reaches_every_database_of_its_server() -> None:
    server = locations("postgresql", {"host": "h"}).places[0]
    shop = locations("postgresql", {"host": "H", "database": "shop"}).places[0]
    assert server.relation(shop) == "contains"
    assert shop.relation(server) == "is inside"


def test_local_paths_are_left_to_the_file_system() -> None:
    found = locations("file", {"path": "file:///srv/drops"})
    assert found.places == () and found.problems == ()
    assert [(p.text, p.where, p.role) for p in found.local] == [
        ("file:///srv/drops", ("depot", "file", "path"), "path")
    ]
    lake = locations("lakehouse", {"warehouse": "warehouse", "uri": "sqlite:///cat/c.db"})
    assert [(p.text, p.role) for p in lake.local] == [
        ("warehouse", "warehouse"),
        ("cat/c.db", "catalog"),
    ]
    spec = Depot.model_validate(
        {
            "name": "d",
            "version": "v1",
            "type": "depot",
            "depot": {"type": "FILE", "spec": {"path": "data/x"}},
        }
    )
    assert depot_locations.depot_locations(spec.depot).local[0].where == ("depot", "spec", "path")


@pytest.mark.parametrize(
    "text",
    ["local:///etc", "simplecache::file:///x", "hdfs://nn/x", "s3://b/x::file:///y", "data/x://y"],
)
def test_schemes_no_reader_confines_are_problems(text: str) -> None:
    found = locations("file", {"path": text})
    assert found.places == () and found.local == ()
    [problem] = found.problems
    assert problem.path == ("depot", "file", "path")
    assert "no platform reader confines" in problem.message and problem.hint


@pytest.mark.parametrize(
    ("uri", "expected_places", "problem"),
    [
        ("sqlite://", [], False),
        ("sqlite:///c.db?mode=ro", [], True),
        ("sqlite://host/c.db", [], True),
        ("postgresql+psycopg://u:secret-pw@pg:5433/cat", ["db://pg:5433/cat"], False),
        ("https://rest.internal/api/", ["rest://rest.internal:443/api"], False),
    ],
)
def test_catalog_uris(uri: str, expected_places: list[str], problem: bool) -> None:
    found = locations("lakehouse", {"warehouse": "s3://b/wh", "uri": uri})
    assert [str(p) for p in found.places] == ["s3://b/wh", *expected_places]
    assert bool(found.problems) == problem
    assert all("secret-pw" not in str(p) for p in found.places)


segments = st.lists(
    st.sampled_from(["..", ".", "", "a", "b", "ü", "%2e%2e", "x y"]), min_size=0, max_size=6
)


@given(
    prefix=segments,
    child=st.sampled_from(["a", "b", "ü"]),
    scheme=st.sampled_from(["s3", "s3a", "gs", "memory"]),
)
def test_object_store_prefixes_never_leave_their_bucket(
    prefix: list[str], child: str, scheme: str
) -> None:
    text = f"{scheme}://bucket/{'/'.join(prefix)}"
    assert path_kind(text) == "remote"
    [place] = locations("file", {"path": text}).places
    assert place.parts[0] == "bucket"
    assert not {"..", ".", ""} & set(place.parts)
    [inner] = locations("file", {"path": f"{text}/{child}"}).places
    assert inner.relation(place) == "is inside"
    assert place.relation(inner) == "contains"
    other = Place(place.namespace, ("other-bucket",))
    assert place.relation(other) is None
