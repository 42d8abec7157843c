"""The Workbench's form as the Gateway API's query: one validation, one request shape."""

from __future__ import annotations

from pydantic import ValidationError

from dataos_defs.api.errors import ApiError
from dataos_defs.api.gateway_routes import QueryIn
from dataos_defs.gateway.pages import DEFAULT_PAGE_ROWS
from dataos_defs.gateway.service import QueryRequest

SOURCE = "workbench"
"""The queries' source: the audit records it, and cluster selectors may route by it."""
MAX_SQL_CHARS = 100_000


def query_in(form: dict[str, str], page_size: int = DEFAULT_PAGE_ROWS) -> QueryIn:
    """The form as the API's query body (its validation included): 400 when malformed."""
    sql = form.get("sql", "")
    if len(sql) > MAX_SQL_CHARS:
        raise ApiError(413, "request_too_large", f"a statement is at most {MAX_SQL_CHARS} chars")
    try:
        return QueryIn.model_validate(
            {"sql": sql.strip(), "cluster": form.get("cluster") or None, "pageSize": page_size}
        )
    except ValidationError:
        raise ApiError(
            400, "bad_request", "write a statement to run", "for example SELECT 1"
        ) from None


def query_request(body: QueryIn) -> QueryRequest:
    return QueryRequest(sql=body.sql, cluster=body.cluster, source=SOURCE, page_rows=body.pageSize)
