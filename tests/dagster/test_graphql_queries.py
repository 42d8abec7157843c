"""Every query the Dagster GraphQL client sends is valid against the installed schema."""

from __future__ import annotations

import pytest
from dagster_graphql.schema import create_schema
from graphql import parse, validate

from dataos_defs.adapters import dagster_graphql as client

QUERIES = {
    name: getattr(client, name)
    for name in (
        "RELOAD",
        "LOCATION",
        "START_SCHEDULE",
        "STOP_SCHEDULE",
        "LAUNCH_RUN",
        "TERMINATE_RUN",
        "RUNS",
        "LOGS",
        "STEP_STATS",
        "NEXT_TICK",
    )
}


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_query_matches_the_schema(name: str) -> None:
    schema = create_schema().graphql_schema
    assert [e.message for e in validate(schema, parse(QUERIES[name]))] == []
