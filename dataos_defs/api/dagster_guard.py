"""What the Dagster door lets through to Dagster's GraphQL API: reads, never writes.

The door serves a read-only webserver, yet refuses every GraphQL mutation itself, so that a
misconfigured upstream (the writable webserver by mistake) still cannot be driven through it.
Each request is parsed with graphql-core (which Dagster itself uses) and rebuilt from what was
checked: the upstream receives only the canonical form, never the client's bytes, so no
difference between this parser and Dagster's (duplicate JSON keys, a query hidden in the URL
of a POST, a content type Dagster reads differently) can smuggle anything past the check.

Refused: a document that does not parse (or is too large to), that holds no operation or
anything but operations and fragments, any ``mutation`` operation (whatever ``operationName``
picks), any fragment on the ``Mutation`` root type, batched requests (a JSON list; Dagster
accepts none), and content types other than JSON and ``application/graphql``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from graphql import GraphQLError, parse
from graphql.language import (
    DocumentNode,
    FragmentDefinitionNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    Visitor,
    visit,
)

from dataos_defs.api.errors import ApiError

MAX_BODY = 1 << 20
"""The largest request body or websocket message the door accepts (1 MiB)."""
MAX_TOKENS = 50_000
"""More tokens than the Dagster UI's largest query has, by an order of magnitude."""
HTTP_OPERATIONS = frozenset({OperationType.QUERY})
WS_OPERATIONS = frozenset({OperationType.QUERY, OperationType.SUBSCRIPTION})
WRITE_ROOT_TYPES = frozenset({"Mutation"})
WS_MESSAGE_TYPES = frozenset(
    {"connection_init", "connection_terminate", "start", "stop", "ka", "ping", "pong"}
)
READ_ONLY_HINT = "the Dagster UI behind DataOS is read-only; act through the DataOS API"


def refused(message: str) -> ApiError:
    return ApiError(403, "mutation_refused", message, READ_ONLY_HINT)


def malformed(message: str) -> ApiError:
    return ApiError(400, "invalid_graphql", message, "send one GraphQL query document")


def check_document(query: Any, allowed: frozenset[OperationType]) -> None:
    """Raise unless ``query`` parses and holds only operations of the ``allowed`` types."""
    if not isinstance(query, str):
        raise malformed("the GraphQL 'query' must be a string")
    try:
        document = parse(query, no_location=True, max_tokens=MAX_TOKENS)
    except (GraphQLError, RecursionError) as exc:
        reason = exc.message if isinstance(exc, GraphQLError) else "nested too deeply"
        message = f"the door cannot parse this GraphQL document, so it refuses it: {reason}"
        raise malformed(message) from None
    operations = 0
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            operations += 1
            if definition.operation is OperationType.MUTATION:
                raise refused("GraphQL mutations are refused by the door")
            if definition.operation not in allowed:
                raise malformed("GraphQL subscriptions are served over the websocket only")
        elif not isinstance(definition, FragmentDefinitionNode):
            raise malformed(f"a GraphQL request holds no {definition.kind.replace('_', ' ')}")
    if operations == 0:
        raise malformed("the GraphQL document holds no operation")
    if _write_type_conditions(document):
        raise refused("GraphQL fragments on the Mutation type are refused by the door")


class _TypeConditions(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_fragment_definition(self, node: FragmentDefinitionNode, *_: Any) -> None:
        self.names.add(node.type_condition.name.value)

    def enter_inline_fragment(self, node: InlineFragmentNode, *_: Any) -> None:
        if node.type_condition is not None:
            self.names.add(node.type_condition.name.value)


def _write_type_conditions(document: DocumentNode) -> set[str]:
    conditions = _TypeConditions()
    visit(document, conditions)
    return conditions.names & WRITE_ROOT_TYPES


def _one(values: list[str], name: str) -> str | None:
    if len(values) > 1:
        raise malformed(f"the GraphQL request names '{name}' {len(values)} times")
    return values[0] if values else None


def _checked_request(query: Any, variables: Any, operation_name: Any) -> dict[str, Any]:
    check_document(query, HTTP_OPERATIONS)
    if variables is not None and not isinstance(variables, (dict, str)):
        raise malformed("GraphQL 'variables' must be an object")
    if isinstance(variables, str):
        try:
            variables = json.loads(variables) if variables else None
        except ValueError as exc:
            raise malformed("GraphQL 'variables' is not JSON") from exc
        if variables is not None and not isinstance(variables, dict):
            raise malformed("GraphQL 'variables' must be an object")
    if operation_name is not None and not isinstance(operation_name, str):
        raise malformed("GraphQL 'operationName' must be a string")
    return {"query": query, "variables": variables, "operationName": operation_name}


def canonical_get(params: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The query string of a checked ``GET /graphql`` (empty without ``query``: Dagster
    then answers with its GraphiQL page or a 400, running nothing)."""
    found: dict[str, list[str]] = {"query": [], "variables": [], "operationName": []}
    for name, value in params:
        if name in found:
            found[name].append(value)
    query = _one(found["query"], "query")
    if query is None:
        return {}
    checked = _checked_request(
        query, _one(found["variables"], "variables"), _one(found["operationName"], "operationName")
    )
    canonical = {"query": checked["query"]}
    if checked["variables"] is not None:
        canonical["variables"] = json.dumps(checked["variables"])
    if checked["operationName"] is not None:
        canonical["operationName"] = checked["operationName"]
    return canonical


def canonical_post(content_type: str, body: bytes) -> bytes:
    """The JSON body of a checked ``POST /graphql``; the URL's query string is dropped."""
    media = content_type.split(";", 1)[0].strip().lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise malformed("the GraphQL request is not UTF-8") from exc
    if media == "application/graphql":
        checked = _checked_request(text, None, None)
    elif media == "application/json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise malformed("the GraphQL request is not JSON") from exc
        if isinstance(data, list):
            raise malformed("batched GraphQL requests are not accepted: send one at a time")
        if not isinstance(data, dict):
            raise malformed("the GraphQL request must be a JSON object")
        checked = _checked_request(
            data.get("query"), data.get("variables"), data.get("operationName")
        )
    else:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"GraphQL requests through the door must be application/json, not {media or 'none'}",
            "send Content-Type: application/json",
        )
    return json.dumps(checked).encode()


def canonical_ws_message(text: str) -> str:
    """A checked client message of Dagster's GraphQL websocket (the graphql-ws protocol):
    ``start`` may carry a query or subscription, nothing else."""
    try:
        message = json.loads(text)
    except ValueError as exc:
        raise malformed("a websocket message is not JSON") from exc
    if not isinstance(message, dict) or message.get("type") not in WS_MESSAGE_TYPES:
        raise malformed("not a graphql-ws message the door knows")
    if message["type"] == "start":
        payload = message.get("payload")
        if not isinstance(payload, dict):
            raise malformed("a graphql-ws 'start' message carries no payload")
        check_document(payload.get("query"), WS_OPERATIONS)
    return json.dumps(message)
