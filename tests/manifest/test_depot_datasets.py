"""Depot ``datasets``: descriptions and tags of datasets and columns declared on the depot
(an extension until Metis holds the catalog), validated strictly, duplicates reported."""

from __future__ import annotations

from pathlib import Path

from support import assert_invalid, assert_valid_example, line_of, valid_as

from dataos_defs.heimdall.trino_data import compile_column_tags
from dataos_defs.manifest.depot import Depot
from dataos_defs.manifest.loader import load_documents
from dataos_defs.manifest.validate import parse_document

ROOT = Path(__file__).resolve().parents[2]

LAKEHOUSE = """\
name: lakehouse
version: v2alpha
type: depot
depot:
  type: LAKEHOUSE
  lakehouse:
    warehouse: warehouse
  datasets:
    - collection: shop
      dataset: Customers
      description: one row per customer
      tags: [Tier.Gold, domain.sales]
      columns:
        - name: Email
          description: where we write to
          tags: [PII.Email]
        - name: phone
          tags: [PII.PhoneNumber, PII.Sensitive]
        - name: country
    - collection: shop
      dataset: orders
      columns:
        - name: note
"""


def test_declared_tags_are_valid_and_schema_checked() -> None:
    assert_valid_example(LAKEHOUSE, Depot, pin_version=True, file="depot.yaml")


def test_column_tags_by_dataset_id_in_lower_case() -> None:
    depot = valid_as(LAKEHOUSE, Depot, "depot.yaml")
    assert depot.column_tags() == {
        "lakehouse.shop.customers": {
            "email": ["PII.Email"],
            "phone": ["PII.PhoneNumber", "PII.Sensitive"],
        }
    }
    assert depot.dataset_tags() == {"lakehouse.shop.customers": ["Tier.Gold", "domain.sales"]}


def test_column_tags_have_the_shape_heimdall_compiles() -> None:
    depot = valid_as(LAKEHOUSE, Depot, "depot.yaml")
    compiled = compile_column_tags(depot.column_tags())
    assert compiled["lakehouse.shop.customers"]["email"] == ["PII.Email"]


def test_a_depot_without_datasets_has_no_tags() -> None:
    text = LAKEHOUSE.split("  datasets:", maxsplit=1)[0]
    depot = valid_as(text, Depot, "depot.yaml")
    assert depot.column_tags() == {} and depot.dataset_tags() == {}


def test_a_dataset_declared_twice_is_reported_on_the_second() -> None:
    text = LAKEHOUSE.replace("dataset: orders", "dataset: CUSTOMERS")
    assert_invalid(
        text,
        [(line_of(text, "dataset: CUSTOMERS"), "depot.datasets[1].dataset", "datasets[0]")],
        "depot.yaml",
    )


def test_a_column_declared_twice_is_reported_on_the_second() -> None:
    text = LAKEHOUSE.replace("- name: country", "- name: EMAIL")
    assert_invalid(
        text,
        [
            (
                line_of(text, "- name: EMAIL"),
                "depot.datasets[0].columns[2].name",
                "column 'email' of dataset 'shop.Customers' is declared twice",
            )
        ],
        "depot.yaml",
    )


def test_unknown_keys_and_bad_names_are_rejected() -> None:
    text = LAKEHOUSE.replace("description: one row", "colour: blue\n      description: one row")
    assert_invalid(text, [(line_of(text, "colour"), "depot.datasets[0].colour", "colour")])
    dotted = LAKEHOUSE.replace("dataset: orders", "dataset: sales.orders")
    assert_invalid(
        dotted, [(line_of(dotted, "sales.orders"), "depot.datasets[1].dataset", "without '.'")]
    )
    empty_tag = LAKEHOUSE.replace("tags: [PII.Email]", "tags: ['']")
    assert_invalid(
        empty_tag, [(line_of(empty_tag, "tags: ['']"), "depot.datasets[0].columns[0].tags[0]", "")]
    )


def test_the_example_declares_the_email_of_its_source_customers_as_pii() -> None:
    """The tag is declared where the data enters (flare carries it to derived datasets)."""
    documents = load_documents([ROOT / "resources" / "depots.yaml"], env={})
    depots = {}
    for document in documents:
        parsed, issues = parse_document(document)
        assert not issues and parsed is not None
        assert isinstance(parsed.model, Depot)
        depots[parsed.model.name] = parsed.model
    assert depots["shoppg"].column_tags() == {"shoppg.public.customers": {"email": ["PII.Email"]}}
    assert depots["lakehouse"].column_tags() == {}
