"""Compile what ``policies/trino/*.rego`` needs into the ``heimdall`` data document.

Trino's OPA access-control plugin asks the policies for allow/deny, row filters and column
masks (see policies/trino/trino.rego). Beside the access policies compiled by
``policy_data``, the Trino package reads:

* ``identities``: user id → Heimdall tags (fed by the identity store);
* ``column_tags``: ``"depot.collection.dataset"`` → column → tags (fed by Metis);
* ``trino.reach``: per access policy, the catalogs and schemas its object paths reach,
  so that "can read something under this catalog/schema" is decidable in Rego;
* ``trino.masks`` and ``trino.filters``: DataOS data policies with their Trino SQL
  rendered here, once; the Rego only inserts the quoted column name and picks the
  template for the column's type.

Every name in SQL is quoted here (identifiers in double quotes, literals in single quotes,
embedded quotes doubled), so nothing from a manifest reaches Trino unquoted.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from dataos_defs.heimdall.policy_data import (
    PATH_SEPARATORS,
    TAG_SEPARATORS,
    Pattern,
    PolicyDataError,
    _split_alternatives,
    _tokens,
    compile_glob,
    compile_policies,
)
from dataos_defs.manifest.base import Scalar
from dataos_defs.manifest.policy import DataPolicy, Policy
from dataos_defs.manifest.policy_parts import HashMask, Mask, RedactMask, RowFilter

DEFAULT_PRIORITY = 100
"""A data policy without ``priority`` yields to every policy that has one (lower wins)."""
MATCH_ALL = Pattern("**", "prefix", "")
SCOPE_SEPARATORS = PATH_SEPARATORS + "."
COLUMN_TAG_SEPARATORS = "."
MAX_EXPANSIONS = 1024
COLUMN = None
"""Marks where a mask template takes the quoted column name."""
_COMPARISONS = {
    "equals": "=",
    "not_equals": "<>",
    "less_than": "<",
    "less_than_equals": "<=",
    "greater_than": ">",
    "greater_than_equals": ">=",
}

GATEWAY_PRINCIPALS = ("dataos-gateway",)
"""The Trino principal the Gateway authenticates as (``adapters/trino_client.py``'s default
user); ``DATAOS_TRINO_GATEWAY_PRINCIPALS`` names others (comma-separated) for Heimdall."""


def quote_identifier(name: str) -> str:
    '''A Trino identifier, double quotes doubled.

    >>> print(quote_identifier('order "id"'))
    "order ""id"""
    '''
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """A Trino string literal, single quotes doubled.

    >>> print(quote_literal("O'Brien"))
    'O''Brien'
    """
    return "'" + text.replace("'", "''") + "'"


def sql_number(value: float) -> str:
    """A number as a SQL literal without exponent (a DECIMAL literal in Trino), exact for
    every int and for the shortest decimal that reads back as the float.

    >>> [sql_number(v) for v in (3, 2**63 + 1, 2.0, 1e-7, 1e-30)]
    ['3', '9223372036854775809', '2', '0.0000001', '0.000000000000000000000000000001']
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not math.isfinite(value):
        raise PolicyDataError(f"{value} has no SQL literal")
    if float(value).is_integer():
        return str(int(value))
    return format(Decimal(repr(float(value))), "f")


def sql_value(value: Scalar) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return sql_number(value)
    return quote_literal(value)


def filter_expression(filters: Sequence[RowFilter]) -> str:
    """The rows a filter policy keeps, as one Trino boolean expression (filters ANDed).

    >>> from dataos_defs.manifest.policy_parts import RowFilter
    >>> filter_expression([RowFilter(column="region", operator="equals", value="EU")])
    '"region" = \\'EU\\''
    """
    conditions = []
    for row in filters:
        column = quote_identifier(row.column)
        if isinstance(row.value, list):
            values = [sql_value(v) for v in row.value]
            if not values:
                conditions.append("FALSE" if row.operator == "in" else "TRUE")
                continue
            keyword = "IN" if row.operator == "in" else "NOT IN"
            conditions.append(f"{column} {keyword} ({', '.join(values)})")
        else:
            conditions.append(f"{column} {_COMPARISONS[row.operator]} {sql_value(row.value)}")
    if len(conditions) == 1:
        return conditions[0]
    return " AND ".join(f"({condition})" for condition in conditions)


def _template(returns: str, *pieces: str | None) -> dict[str, Any]:
    """Pieces (``COLUMN`` where the column goes) as the parts Rego joins with the quoted
    column name; ``returns`` is the expression's type: ``varchar``, ``column`` (the
    column's own type) or ``literal`` (a number literal, always cast back)."""
    parts = [""]
    for piece in pieces:
        if piece is COLUMN:
            parts.append("")
        else:
            parts[-1] += piece
    return {"parts": parts, "returns": returns}


def mask_templates(mask: Mask) -> dict[str, dict[str, Any]]:
    """Trino SQL per column type family (text, number, date, timestamp) of one mask.

    A family without a template gets ``CAST(NULL AS <type>)``: an operator applied to a
    type it does not apply to (DATAOS_CONTRACT §4) hides the value rather than showing it.
    """
    if mask.operator == "hash":
        algo = (mask.hash or HashMask()).algo
        return {
            "text": _template(
                "varchar", f"lower(to_hex({algo}(to_utf8(CAST(", COLUMN, " AS varchar)))))"
            )
        }
    if mask.operator == "bucket_number" and mask.bucket_number:
        pieces: list[str | None] = ["CASE"]
        for bound in sorted(mask.bucket_number.buckets, reverse=True):
            literal = sql_number(bound)
            pieces += [" WHEN ", COLUMN, f" >= {literal} THEN {literal}"]
        return {"number": _template("literal", *pieces, " ELSE NULL END")}
    if mask.operator == "bucket_date" and mask.bucket_date:
        precision = mask.bucket_date.precision
        day_or_coarser = "day" if precision == "hour" else precision
        return {
            "date": _template("column", f"date_trunc('{day_or_coarser}', ", COLUMN, ")"),
            "timestamp": _template("column", f"date_trunc('{precision}', ", COLUMN, ")"),
        }
    if mask.operator == "regex_replace" and mask.regex_replace:
        pattern = quote_literal(mask.regex_replace.pattern)
        replacement = quote_literal(mask.regex_replace.replacement)
        return {
            "text": _template("varchar", "regexp_replace(", COLUMN, f", {pattern}, {replacement})")
        }
    if mask.operator == "rand_pattern" and mask.rand_pattern:
        random = random_pattern(mask.rand_pattern.pattern)
        return {"text": _template("varchar", "IF(", COLUMN, f" IS NULL, NULL, {random})")}
    if mask.operator == "redact":
        replacement = (mask.redact or RedactMask()).replacement
        return {"text": _template("varchar", quote_literal(replacement))}
    return {}


def random_pattern(pattern: str) -> str:
    """Each ``#`` a random digit, anything else kept, as one varchar expression.

    >>> random_pattern("##-x")
    "CAST(random(10) AS varchar) || CAST(random(10) AS varchar) || '-x'"
    """
    pieces: list[str] = []
    literal = ""
    for char in pattern:
        if char != "#":
            literal += char
            continue
        if literal:
            pieces.append(quote_literal(literal))
            literal = ""
        pieces.append("CAST(random(10) AS varchar)")
    if literal:
        pieces.append(quote_literal(literal))
    return " || ".join(pieces)


def _pattern(glob: str, separators: str) -> dict[str, str]:
    return compile_glob(glob, separators).as_data()


def _scope(data: DataPolicy) -> dict[str, dict[str, str]]:
    """Patterns over catalog, schema and table; a level not given is ``**``."""
    levels: list[str | None] = (
        list(data.dataset_id.split("."))
        if data.dataset_id
        else [data.depot, data.collection, data.dataset]
    )
    names = ("depot", "collection", "dataset")
    return {
        name: _pattern(level or "**", SCOPE_SEPARATORS)
        for name, level in zip(names, levels, strict=True)
    }


def _users(data: DataPolicy) -> dict[str, Any]:
    user = data.selector.user
    return {
        "match": user.match,
        "tags": [_pattern(tag, TAG_SEPARATORS) for tag in user.tags],
    }


def compile_data_policy(name: str, data: DataPolicy) -> dict[str, Any]:
    """One mask or filter policy as policies/trino/trino_data_policies.rego reads it."""
    compiled: dict[str, Any] = {"name": name, "scope": _scope(data), "users": _users(data)}
    if data.type == "filter":
        if not data.filters:
            raise PolicyDataError(f"filter policy {name!r} has no filters")
        return {**compiled, "expression": filter_expression(data.filters)}
    if data.mask is None:
        raise PolicyDataError(f"mask policy {name!r} has no mask")
    columns = data.selector.column
    return {
        **compiled,
        "priority": data.priority if data.priority is not None else DEFAULT_PRIORITY,
        "columns": {
            "names": sorted({n.lower() for n in (columns.names or [])} if columns else set()),
            "tags": [_pattern(t, COLUMN_TAG_SEPARATORS) for t in (columns.tags or [])]
            if columns
            else [],
        },
        "operator": data.mask.operator,
        "templates": mask_templates(data.mask),
    }


def compile_data_policies(policies: Iterable[Policy]) -> dict[str, list[dict[str, Any]]]:
    """Masks and filters, sorted by name; archived data policies are left out."""
    compiled: dict[str, dict[str, Any]] = {}
    kinds: dict[str, str] = {}
    for policy in policies:
        data = policy.policy.data
        if data is None or data.isArchived:
            continue
        if policy.name in compiled:
            raise PolicyDataError(f"two data policies are named {policy.name!r}")
        compiled[policy.name] = compile_data_policy(policy.name, data)
        kinds[policy.name] = data.type
    names = sorted(compiled)
    return {
        "masks": [compiled[n] for n in names if kinds[n] == "mask"],
        "filters": [compiled[n] for n in names if kinds[n] == "filter"],
    }


def _glob_text(tokens: Sequence[tuple[str, str]]) -> str:
    out = []
    for kind, text in tokens:
        if kind == "lit":
            out.append("\\" + text if text in "\\*?[]{},!" else text)
        elif kind == "class":
            out.append(f"[{text}]")
        elif kind == "alt":
            out.append(f"{{{text}}}")
        else:
            out.append(kind)
    return "".join(out)


def expand_alternatives(glob: str) -> list[str]:
    """``{a,b}`` alternatives spelled out, so that each glob has one shape of levels.

    >>> expand_alternatives("dataos://{lakehouse:retail,pg:public}/**")
    ['dataos://lakehouse:retail/**', 'dataos://pg:public/**']
    """
    pending, done = [glob], []
    while pending:
        tokens = _tokens(pending.pop())
        at = next((i for i, (kind, _) in enumerate(tokens) if kind == "alt"), None)
        if at is None:
            done.append(_glob_text(tokens))
        else:
            head, tail = _glob_text(tokens[:at]), _glob_text(tokens[at + 1 :])
            pending.extend(
                head + alt + tail for alt in reversed(_split_alternatives(tokens[at][1]))
            )
        if len(done) + len(pending) > MAX_EXPANSIONS:
            raise PolicyDataError(f"{glob!r} expands to more than {MAX_EXPANSIONS} globs")
    return done


def path_reach(glob: str) -> dict[str, Any] | None:
    """Which catalogs (depots) and schemas (collections) a path glob reaches datasets in.

    ``covers`` is true when the glob matches every dataset of the reached schemas. The
    result errs towards reaching more: a ``**`` inside the depot or collection level
    reaches every name with that start. Globs that match no dataset path (API paths,
    ``dataos://lakehouse``, a collection itself) reach nothing.

    >>> reach = path_reach("dataos://lakehouse:*/orders")
    >>> reach["catalog"]["kind"], reach["schema"]["kind"], reach["covers"]
    ('exact', 'regex', False)
    """
    tokens = _tokens(glob)
    index = 0
    for char in "dataos://":
        if index < len(tokens) and tokens[index][0] == "**":
            return {"catalog": MATCH_ALL.as_data(), "schema": MATCH_ALL.as_data(), "covers": True}
        if index == len(tokens) or tokens[index] != ("lit", char):
            return None
        index += 1
    levels: list[dict[str, str]] = []
    for separator in ":/":
        start = index
        while index < len(tokens) and tokens[index] != ("lit", separator):
            if tokens[index][0] == "**":
                levels.append(_pattern(_glob_text(tokens[start : index + 1]), PATH_SEPARATORS))
                levels += [MATCH_ALL.as_data()] * (2 - len(levels))
                return {
                    "catalog": levels[0],
                    "schema": levels[1],
                    "covers": index == len(tokens) - 1,
                }
            index += 1
        if index == len(tokens):
            return None
        levels.append(_pattern(_glob_text(tokens[start:index]), PATH_SEPARATORS))
        index += 1
    rest = tokens[index:]
    covers = rest in ([("**", "")], [("*", "")])
    return {"catalog": levels[0], "schema": levels[1], "covers": covers}


def compile_reach(access_policies: Sequence[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Policy name → the reach of each of its path globs (compiled access policies)."""
    reach: dict[str, list[dict[str, Any]]] = {}
    for policy in access_policies:
        entries: list[dict[str, Any]] = []
        for glob in policy["objects"]["paths"]["globs"]:
            for expanded in expand_alternatives(glob):
                entry = path_reach(expanded)
                if entry is not None and entry not in entries:
                    entries.append(entry)
        reach[policy["name"]] = entries
    return reach


def compile_identities(identities: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    """User id → sorted, unique Heimdall tags."""
    compiled = {}
    for user, tags in identities.items():
        if isinstance(tags, str):
            raise PolicyDataError(f"tags of {user!r} must be a list of strings, not a string")
        compiled[user] = sorted(set(tags))
    return compiled


def compile_column_tags(
    column_tags: Mapping[str, Mapping[str, Iterable[str]]],
) -> dict[str, dict[str, list[str]]]:
    """``"depot.collection.dataset"`` → column → tags, names lower-cased as Trino reports
    them."""
    compiled: dict[str, dict[str, list[str]]] = {}
    for dataset, columns in column_tags.items():
        if len(dataset.split(".")) != 3:
            raise PolicyDataError(f"not a dataset id: {dataset!r} (depot.collection.dataset)")
        table = compiled.setdefault(dataset.lower(), {})
        for column, tags in columns.items():
            if isinstance(tags, str):
                raise PolicyDataError(f"tags of {dataset}.{column} must be a list of strings")
            table[column.lower()] = sorted(set(table.get(column.lower(), [])) | set(tags))
    return compiled


def trino_document(
    policies: Iterable[Policy],
    *,
    identities: Mapping[str, Iterable[str]] | None = None,
    column_tags: Mapping[str, Mapping[str, Iterable[str]]] | None = None,
    system: bool = True,
    impersonators: Iterable[str] = GATEWAY_PRINCIPALS,
) -> dict[str, Any]:
    """The whole data document for Heimdall's and Trino's policies: ``{"heimdall": ...}``
    with the access policies (and their index) and everything the Trino package reads.
    ``impersonators`` are the Trino principals allowed to run statements as another user
    (the Gateway's service account: it runs each statement as its caller)."""
    policies = list(policies)
    heimdall = compile_policies(policies, system=system)
    data_policies = compile_data_policies(policies)
    heimdall["identities"] = compile_identities(identities or {})
    heimdall["column_tags"] = compile_column_tags(column_tags or {})
    heimdall["trino"] = {
        "reach": compile_reach(heimdall["policies"]),
        "impersonators": sorted(set(impersonators)),
        **data_policies,
    }
    return {"heimdall": heimdall}
