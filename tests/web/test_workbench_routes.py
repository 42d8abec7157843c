"""The Workbench over HTTP: a governed run, its pages, the Governance fragment, cancelling,
history from the audit, CSV download, and what another user may not touch."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.web.web_support import (
    EVENTS,
    EVENTS_SQL,
    LONG_SQL,
    ORDERED,
    PLAIN_USER,
    WebPlatform,
    csrf_of,
    signed_in,
)

FRAGMENT = {"X-Fragment": "1"}


@pytest.fixture(scope="module")
def ana(platform: WebPlatform) -> Iterator[httpx.Client]:
    with signed_in(platform, PLAIN_USER) as client:
        yield client


@pytest.fixture(scope="module")
def operator(platform: WebPlatform) -> Iterator[httpx.Client]:
    with signed_in(platform, "operator") as client:
        yield client


def start(client: httpx.Client, sql: str, page_size: int = 200) -> httpx.Response:
    token = csrf_of(client.get("/workbench").text)
    form = {"sql": sql, "cluster": "", "page_size": str(page_size), "csrf_token": token}
    return client.post("/workbench/run", data=form, headers=FRAGMENT)


def finish(client: httpx.Client, answer: httpx.Response, timeout: float = 120) -> httpx.Response:
    """Poll the run's fragment until it is no longer running."""
    deadline = time.monotonic() + timeout
    while (poll := re.search(r'data-poll="([^"]+)"', answer.text)) is not None:
        assert time.monotonic() < deadline, "the run did not finish"
        time.sleep(0.2)
        answer = client.get(poll.group(1), headers=FRAGMENT)
    return answer


def cells(html: str) -> list[list[str]]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [re.findall(r"<td[^>]*>([^<]*)</td>", row) for row in body.split("</tr>")[:-1]]


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_the_editor_offers_the_clusters_the_user_may_use(ana: httpx.Client) -> None:
    page = ana.get("/workbench")
    assert page.status_code == 200
    assert '<option value="minervashop">' in page.text
    assert "runs on <strong>minervashop</strong>" in page.text
    assert '<label for="sql">' in page.text and '<label for="cluster">' in page.text


def test_a_plain_user_sees_hashed_emails_with_column_types(ana: httpx.Client) -> None:
    result = finish(ana, start(ana, ORDERED))
    assert result.status_code == 200, result.text
    assert 'customer_id<span class="type">bigint</span>' in result.text
    assert 'email<span class="type">varchar</span>' in result.text
    rows = cells(result.text)
    assert [r[1] for r in rows] == [sha256(f"{n}@example.com") for n in ("ada", "bob", "cy", "di")]
    assert "ada@example.com" not in result.text


def test_the_operator_reads_raw_emails(operator: httpx.Client) -> None:
    rows = cells(finish(operator, start(operator, ORDERED)).text)
    assert rows[0][1] == "ada@example.com"


def test_the_governance_fragment_shows_the_rewritten_sql_and_policies(ana: httpx.Client) -> None:
    token = csrf_of(ana.get("/workbench").text)
    answer = ana.post(
        "/workbench/explain", data={"sql": ORDERED, "csrf_token": token}, headers=FRAGMENT
    )
    assert answer.status_code == 200, answer.text
    assert "SHA256(&#34;email&#34;)" in answer.text
    assert "lakehouse.shop.customers_360.email" in answer.text
    assert "shop-email-hash" in answer.text and "shop-age-buckets" in answer.text


def test_results_are_paged_in_order(ana: httpx.Client) -> None:
    first = finish(ana, start(ana, EVENTS_SQL, page_size=1000))
    assert "Rows 1\u20131000" in first.text
    assert len(cells(first.text)) == 1000
    next_url = re.search(r'data-get="([^"]+)"', first.text)
    assert next_url is not None
    second = ana.get(next_url.group(1), headers=FRAGMENT)
    assert "Rows 1001\u20132000" in second.text
    assert cells(second.text)[0][0] == "1001"


def test_a_refused_statement_shows_the_apis_error(ana: httpx.Client) -> None:
    denied = finish(ana, start(ana, "SELECT * FROM lakehouse.hr.salaries"))
    assert denied.status_code in (403, 400), denied.text
    assert 'role="alert"' in denied.text


def test_a_long_query_is_cancelled(ana: httpx.Client) -> None:
    running = start(ana, LONG_SQL)
    assert "Running" in running.text, running.text
    cancel = re.search(r'action="(/workbench/runs/[^"]+/cancel)"', running.text)
    assert cancel is not None
    token = csrf_of(running.text)
    cancelled = ana.post(cancel.group(1), data={"csrf_token": token}, headers=FRAGMENT)
    assert cancelled.status_code == 200
    assert "Cancelled" in cancelled.text
    poll = re.search(r'data-poll="([^"]+)"', running.text)
    assert poll is not None
    assert "Cancelled" in ana.get(poll.group(1), headers=FRAGMENT).text


def test_another_users_run_is_not_found(ana: httpx.Client, operator: httpx.Client) -> None:
    running = start(operator, ORDERED)
    run_id = re.search(r'data-run="([0-9a-f]+)"', running.text)
    assert run_id is not None, running.text
    theirs = f"/workbench/runs/{run_id.group(1)}"
    assert operator.get(theirs, headers=FRAGMENT).status_code == 200
    assert ana.get(theirs, headers=FRAGMENT).status_code == 404
    assert ana.get(f"{theirs}/pages/1", headers=FRAGMENT).status_code == 404
    token = csrf_of(ana.get("/workbench").text)
    refused = ana.post(f"{theirs}/cancel", data={"csrf_token": token}, headers=FRAGMENT)
    assert refused.status_code == 404
    finish(operator, running)


def test_history_lists_the_users_own_queries(ana: httpx.Client, operator: httpx.Client) -> None:
    finish(ana, start(ana, ORDERED))
    mine = ana.get("/workbench/history")
    assert mine.status_code == 200
    users = set(
        re.findall(r"<td>[^<]*</td><td>([a-z-]+)</td>\s*<td><span class=\"status", mine.text)
    )
    assert users == {PLAIN_USER}
    assert "shop-email-hash" in mine.text
    everyone = operator.get("/workbench/history?user=")
    assert everyone.status_code == 200


def test_csv_download_streams_every_row(ana: httpx.Client) -> None:
    token = csrf_of(ana.get("/workbench").text)
    with ana.stream(
        "POST", "/workbench/csv", data={"sql": EVENTS_SQL, "csrf_token": token}
    ) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/csv")
        assert answer.headers["content-disposition"].startswith("attachment;")
        text = answer.read().decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["id", "kind", "amount"]
    assert len(rows) == EVENTS + 1
    masked = ana.post("/workbench/csv", data={"sql": ORDERED, "csrf_token": token})
    assert "ada@example.com" not in masked.text
    assert sha256("ada@example.com") in masked.text
