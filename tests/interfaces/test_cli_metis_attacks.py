"""``dataos-ctl metis`` attacked by a plain ``roles:id:data-dev`` user (``dev``) who may
read the catalog's entries and the dataset ``customers``, update entries, but never read
the dataset ``orders`` nor ``tag``: ``orders`` does not exist for them (search, get,
lineage — the same answer as a table that does not exist), and they cannot remove (nor
add) a ``PII`` tag. The world is ``test_cli_metis``'s ``catalog``.
"""

from __future__ import annotations

import json

import pytest

from tests.interfaces.test_cli_metis import CUSTOMERS, ORDERS, World, catalog

__all__ = ["catalog"]
"""The fixture, used here by name."""


def test_search_never_shows_a_dataset_the_user_may_not_read(catalog: World) -> None:
    for words in ("orders", "email", "acmepg"):
        done = catalog.cli("metis", "search", words, "-o", "json", key=catalog.dev)
        assert done.returncode == 0, done.stderr
        assert ORDERS not in done.stdout
        operator = catalog.cli("metis", "search", words, "-o", "json")
        if words == "orders":
            assert ORDERS in operator.stdout, "the operator sees it: the filter is the user's"


def test_get_answers_a_hidden_dataset_as_a_missing_one(catalog: World) -> None:
    hidden = catalog.cli("metis", "get", "table", ORDERS, key=catalog.dev)
    missing = catalog.cli("metis", "get", "table", "acmepg.shop.public.nothing", key=catalog.dev)
    assert hidden.returncode == missing.returncode == 1
    assert hidden.stderr.replace(ORDERS, "X") == missing.stderr.replace(
        "acmepg.shop.public.nothing", "X"
    )
    shown = catalog.cli("metis", "get", "table", CUSTOMERS, key=catalog.dev)
    assert shown.returncode == 0, shown.stderr
    assert ORDERS not in shown.stdout and "dataos-public" not in shown.stdout


def test_lineage_stops_at_a_hidden_dataset(catalog: World) -> None:
    tree = catalog.cli(
        "metis", "lineage", CUSTOMERS, "--upstream", "5", "--columns", key=catalog.dev
    )
    assert tree.returncode == 0, tree.stderr
    assert ORDERS not in tree.stdout and "upstream:" not in tree.stdout
    graph = json.loads(
        catalog.cli(
            "metis", "lineage", CUSTOMERS, "--upstream", "5", "-o", "json", key=catalog.dev
        ).stdout
    )
    assert graph["nodes"] == [] and graph["upstreamEdges"] == []
    around = catalog.cli("metis", "lineage", ORDERS, key=catalog.dev)
    assert around.returncode == 1 and "not found" in around.stderr


@pytest.mark.parametrize("verb", ["remove", "add"])
def test_a_plain_user_cannot_change_a_pii_tag(catalog: World, verb: str) -> None:
    column = f"{CUSTOMERS}.email" if verb == "remove" else f"{CUSTOMERS}.id"
    before = catalog.table(CUSTOMERS)
    done = catalog.cli("metis", "tag", verb, column, "PII.Email", key=catalog.dev)
    assert done.returncode == 1
    assert "PII.Email" in done.stderr and "Traceback" not in done.stderr
    after = catalog.table(CUSTOMERS)
    assert after["version"] == before["version"]
    assert [t["tagFQN"] for t in after["columns"][1]["tags"]] == ["PII.Email"]
    assert after["columns"][0]["tags"] == []


def test_a_plain_user_cannot_tag_a_hidden_dataset(catalog: World) -> None:
    done = catalog.cli("metis", "tag", "add", f"{ORDERS}.id", "Quality.Gold", key=catalog.dev)
    assert done.returncode == 1 and "not found" in done.stderr
    assert catalog.table(ORDERS)["columns"][0]["tags"] == []
