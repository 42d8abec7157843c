"""Policy manifests: access policies (tags, predicates, globs) and data policies (mask, filter)."""

from __future__ import annotations

import pytest
from support import assert_invalid, assert_valid_example, valid_as

from dataos_defs.manifest.policy import Policy
from dataos_defs.manifest.policy_parts import glob_problem


def valid(text: str) -> Policy:
    """The Policy of ``text``, which must validate without issues."""
    return valid_as(text, Policy, "policy.yaml")


ACCESS = """\
name: pii-readers-read-retail
version: v1
type: policy
layer: user
description: pii readers and developers may read the retail collection
policy:
  access:
    name: read-retail
    subjects:
      tags:
        - - roles:id:pii-reader
          - roles:id:developer
        - - users:id:iamgroot
    predicates:
      - read
      - select
    objects:
      paths:
        - dataos://lakehouse:retail/{orders,customers}
        - /metis/api/v2/**
      tags:
        - PII.Email
        - dataos:type:column
    allow: true
"""

MASK = """\
name: email-hash
version: v1
type: policy
policy:
  data:
    type: mask
    priority: 40
    depot: lakehouse
    collection: retail
    dataset: "**"
    selector:
      user:
        match: any
        tags: ["roles:id:user"]
      column:
        tags: [PII.Email]
    mask:
      operator: hash
      hash:
        algo: sha256
"""

FILTER = """\
name: only-florida
version: v1
type: policy
policy:
  data:
    type: filter
    priority: 10
    dataset_id: lakehouse.retail.customer
    selector:
      user:
        match: all
        tags: ["users:id:iamgroot"]
    filters:
      - column: state
        operator: equals
        value: FL
      - column: segment
        operator: in
        value: [retail, smb]
"""


def mask(operator_block: str) -> str:
    """MASK with another ``mask`` section (indented under ``mask:``)."""
    head = MASK[: MASK.index("      operator: hash")]
    return head + operator_block


BUCKETS = mask(
    "      operator: bucket_number\n      bucket_number:\n        buckets: [15, 25, 40.5]\n"
)
REDACT_DEFAULT = mask("      operator: redact\n")
PASS_THROUGH = mask("      operator: pass_through\n")
REGEX = mask(
    "      operator: regex_replace\n      regex_replace:\n        pattern: '.{5}$'\n"
    "        replacement: xxxxx\n"
)
DATES = mask("      operator: bucket_date\n      bucket_date:\n        precision: quarter\n")
RANDOM = mask("      operator: rand_pattern\n      rand_pattern:\n        pattern: '####-####'\n")

EXAMPLES = [ACCESS, MASK, FILTER, BUCKETS, REDACT_DEFAULT, PASS_THROUGH, REGEX, DATES, RANDOM]


@pytest.mark.parametrize("text", EXAMPLES)
def test_valid_policies_validate_match_their_json_schema_and_round_trip(text: str) -> None:
    assert_valid_example(text, Policy, file="policy.yaml")


def test_tag_lists_become_or_of_and_groups() -> None:
    access = valid(ACCESS).policy.access
    assert access is not None
    assert access.subjects.tags == [
        ["roles:id:pii-reader", "roles:id:developer"],
        ["users:id:iamgroot"],
    ]
    assert access.objects.tags == [["PII.Email"], ["dataos:type:column"]]
    assert access.allow is True
    denied = valid(ACCESS.replace("    allow: true\n", "")).policy.access
    assert denied is not None and denied.allow is False


def test_mask_defaults() -> None:
    data = valid(REDACT_DEFAULT).policy.data
    assert data is not None and data.mask is not None
    assert data.mask.redact is None
    default = valid(MASK.replace("        algo: sha256\n", "        {}\n")).policy.data
    assert default is not None and default.mask is not None and default.mask.hash is not None
    assert default.mask.hash.algo == "sha256"


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("dataos://lakehouse:retail/**", None),
        ("roles:id:[!a-c]*", None),
        (r"users:id:a\[literal\]", None),
        ("dataos://lake:{a,b}/{c,{d,e}}", None),
        ("roles:id:[abc", "unclosed '[' at position 9"),
        ("roles:id:[]", "empty character class at position 9"),
        ("roles:id:[!]", "empty character class at position 9"),
        ("roles:id:abc]", "']' without '[' at position 12"),
        ("dataos://lake:{a,b", "unclosed '{' at position 14"),
        ("dataos://lake:a,b}", "'}' without '{' at position 17"),
        ("users:id:x\\", "ends with a lone escape '\\'"),
    ],
)
def test_glob_syntax(pattern: str, problem: str | None) -> None:
    assert glob_problem(pattern) == problem


CASES: list[tuple[str, str, list[tuple[int, str, str]]]] = [
    (
        "access-and-data",
        ACCESS + "  data:\n    type: mask\n    selector: {user: {tags: [a]}}\n",
        [(25, "policy.data", "either 'access' or 'data', not both")],
    ),
    (
        "neither",
        "name: p\nversion: v1\ntype: policy\npolicy: {}\n",
        [(4, "policy", "needs 'access' or 'data'")],
    ),
    (
        "unknown-predicate",
        ACCESS.replace("- select", "- raed"),
        [(16, "policy.access.predicates[1]", "did you mean 'read'")],
    ),
    (
        "no-predicates",
        ACCESS.replace("      - read\n      - select\n", "").replace(
            "predicates:", "predicates: []"
        ),
        [(14, "policy.access.predicates", "at least 1")],
    ),
    (
        "unbalanced-path-glob",
        ACCESS.replace("{orders,customers}", "[orders"),
        [(19, "policy.access.objects.paths[0]", "not a valid glob: unclosed '[' at position 26")],
    ),
    (
        "path-neither-udl-nor-api",
        ACCESS.replace("/metis/api/v2/**", "metis/api"),
        [(20, "policy.access.objects.paths[1]", "neither a UDL glob")],
    ),
    (
        "unbalanced-tag-glob",
        ACCESS.replace("roles:id:developer", "roles:id:{dev"),
        [(12, "policy.access.subjects.tags[0][1]", "unclosed '{'")],
    ),
    (
        "objects-empty",
        ACCESS.replace(
            "      paths:\n        - dataos://lakehouse:retail/{orders,customers}\n        - /metis/api/v2/**\n"
            "      tags:\n        - PII.Email\n        - dataos:type:column\n",
            "      {}\n",
        ),
        [(17, "policy.access.objects", "objects need 'paths' or 'tags'")],
    ),
    (
        "allow-not-bool",
        ACCESS.replace("allow: true", "allow: sometimes"),
        [(24, "policy.access.allow", "valid boolean")],
    ),
    (
        "mask-missing",
        MASK[: MASK.index("    mask:")],
        [(5, "policy.data", "a mask policy needs 'mask'")],
    ),
    (
        "mask-parameters-for-another-operator",
        MASK.replace("operator: hash", "operator: redact"),
        [(19, "policy.data.mask.hash", "'hash' parameters do not apply to operator 'redact'")],
    ),
    (
        "mask-parameters-missing",
        mask("      operator: bucket_date\n"),
        [
            (
                17,
                "policy.data.mask",
                "operator 'bucket_date' needs its parameters under mask.bucket_date",
            )
        ],
    ),
    (
        "unknown-mask-operator",
        MASK.replace("operator: hash", "operator: hashh"),
        [(18, "policy.data.mask.operator", "did you mean 'hash'")],
    ),
    (
        "bad-hash-algo",
        MASK.replace("algo: sha256", "algo: sha3"),
        [(20, "policy.data.mask.hash.algo", "not allowed")],
    ),
    (
        "buckets-not-ascending",
        BUCKETS.replace("[15, 25, 40.5]", "[15, 40, 25]"),
        [(20, "policy.data.mask.bucket_number.buckets", "ascending order: 25.0 follows 40.0")],
    ),
    (
        "bad-date-precision",
        DATES.replace("quarter", "decade"),
        [(20, "policy.data.mask.bucket_date.precision", "'decade' is not allowed")],
    ),
    (
        "bad-regex",
        REGEX.replace("'.{5}$'", "'([a-z'"),
        [(20, "policy.data.mask.regex_replace.pattern", "not a valid regular expression")],
    ),
    (
        "mask-without-columns",
        MASK.replace("      column:\n        tags: [PII.Email]\n", ""),
        [(11, "policy.data.selector", "a mask policy must select the columns it masks")],
    ),
    (
        "mask-with-filters",
        MASK + "    filters: [{column: a, operator: equals, value: 1}]\n",
        [(21, "policy.data.filters", "a mask policy takes no 'filters'")],
    ),
    (
        "filter-without-filters",
        FILTER[: FILTER.index("    filters:")],
        [(5, "policy.data", "a filter policy needs 'filters'")],
    ),
    (
        "filter-with-mask",
        FILTER + "    mask: {operator: redact}\n",
        [(20, "policy.data.mask", "a filter policy takes no 'mask'")],
    ),
    (
        "filter-list-operator-scalar",
        FILTER.replace("value: [retail, smb]", "value: retail"),
        [(19, "policy.data.filters[1].value", "compares with a list of values")],
    ),
    (
        "filter-scalar-operator-list",
        FILTER.replace("value: FL", "value: [FL]"),
        [(16, "policy.data.filters[0].value", "compares with a single value")],
    ),
    (
        "filter-unknown-operator",
        FILTER.replace("operator: equals", "operator: contains"),
        [(15, "policy.data.filters[0].operator", "not allowed")],
    ),
    (
        "dataset-id-two-parts",
        FILTER.replace("lakehouse.retail.customer", "retail.customer"),
        [(8, "policy.data.dataset_id", "not a dataset id")],
    ),
    (
        "dataset-id-and-parts",
        FILTER.replace("    priority: 10\n", "    priority: 10\n    depot: lakehouse\n"),
        [(9, "policy.data.dataset_id", "either as dataset_id or as depot/collection/dataset")],
    ),
    (
        "priority-too-low",
        FILTER.replace("priority: 10", "priority: 0"),
        [(7, "policy.data.priority", "greater than or equal to 1")],
    ),
    (
        "bad-user-match",
        FILTER.replace("match: all", "match: most"),
        [(11, "policy.data.selector.user.match", "not allowed")],
    ),
    (
        "selector-without-user",
        MASK.replace('      user:\n        match: any\n        tags: ["roles:id:user"]\n', ""),
        [(11, "policy.data.selector.user", "missing required field 'user'")],
    ),
]


@pytest.mark.parametrize(("case", "text", "expect"), CASES, ids=[c[0] for c in CASES])
def test_invalid_policy(case: str, text: str, expect: list[tuple[int, str, str]]) -> None:
    assert_invalid(text, expect, "policy.yaml")
