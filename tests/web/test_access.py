"""What the pages show and refuse: Heimdall answers a page as it answers the API, direct
URLs included, and no page ever holds a secret value (the HTML of every page is searched)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.web.web_support import PLAIN_USER, SECRET_VALUES, WebPlatform, signed_in

FINANCE_PAGE = "/operations/resources/secret/finance-db?workspace=finance"


@pytest.fixture(scope="module")
def ana(platform: WebPlatform) -> Iterator[httpx.Client]:
    with signed_in(platform, PLAIN_USER) as client:
        yield client


@pytest.fixture(scope="module")
def operator(platform: WebPlatform) -> Iterator[httpx.Client]:
    with signed_in(platform, "operator") as client:
        yield client


def api(platform: WebPlatform, user: str, path: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {platform.keys[user]}"}
    return httpx.get(f"{platform.url}{path}", headers=headers, timeout=30)


def test_another_workspaces_resource_is_refused_as_the_api_refuses_it(
    platform: WebPlatform, ana: httpx.Client, operator: httpx.Client
) -> None:
    api_answer = api(
        platform, PLAIN_USER, "/poros/api/v1/resources/secret/finance-db?workspace=finance"
    )
    for path in (
        FINANCE_PAGE,
        "/operations/resources/secret/finance-db/diff?workspace=finance&a=1&b=1",
        "/operations/resources/secret/finance-db/runs?workspace=finance",
        "/operations?workspace=finance",
    ):
        page = ana.get(path)
        assert page.status_code == api_answer.status_code == 403, (path, page.status_code)
        assert "may not read" in page.text
        assert "finance-db" not in page.text or path != "/operations?workspace=finance"
    assert "<main" in ana.get(FINANCE_PAGE).text  # a page, not JSON
    assert operator.get(FINANCE_PAGE).status_code == 200


def test_lists_show_only_what_the_user_may_read(ana: httpx.Client, operator: httpx.Client) -> None:
    mine = ana.get("/operations").text
    assert "finance" not in re.findall(r'<option value="([^"]+)"', mine)
    assert "minervashop" in mine
    theirs = operator.get("/operations?workspace=finance").text
    assert "finance-db" in theirs


def test_a_missing_resource_is_404(ana: httpx.Client) -> None:
    assert ana.get("/operations/resources/cluster/nope?workspace=public").status_code == 404
    assert ana.get("/operations/resources/nokind/x").status_code == 400


def test_another_users_history_is_refused_and_the_operator_may_read_it(
    platform: WebPlatform, ana: httpx.Client, operator: httpx.Client
) -> None:
    assert api(platform, PLAIN_USER, "/gateway/api/v1/queries?user=operator").status_code == 403
    assert ana.get("/workbench/history?user=operator").status_code == 403
    assert 'id="history-user"' not in ana.get("/workbench/history").text
    allowed = operator.get(f"/workbench/history?user={PLAIN_USER}")
    assert allowed.status_code == 200
    assert 'id="history-user"' in allowed.text


def test_a_resource_page_shows_status_manifest_and_revisions(
    operator: httpx.Client, platform: WebPlatform
) -> None:
    page = operator.get("/operations/resources/cluster/minervashop?workspace=public")
    assert page.status_code == 200
    assert "Manifest" in page.text and "dataos://lakehouse" in page.text
    assert 'id="diff-a"' in page.text and "Revisions" in page.text
    diff = operator.get("/operations/resources/cluster/minervashop/diff?workspace=public&a=1&b=1")
    assert diff.status_code == 200
    assert "are the same" in diff.text


def test_no_page_holds_a_secret_value(ana: httpx.Client, operator: httpx.Client) -> None:
    paths = [
        "/",
        "/workbench",
        "/workbench/history",
        "/operations",
        "/operations?workspace=finance",
        "/operations/incidents",
        FINANCE_PAGE,
        "/operations/resources/secret/finance-db/diff?workspace=finance&a=1&b=1",
        "/operations/resources/instance-secret/ops-token",
        "/operations/resources/instance-secret/ops-token/diff?a=1&b=1",
        "/operations/resources/depot/lakehouse",
        "/operations/resources/cluster/minervashop?workspace=public",
    ]
    for client in (ana, operator):
        for path in paths:
            html = client.get(path).text
            for secret in SECRET_VALUES:
                assert secret not in html, (path, secret)
    assert "&lt;redacted&gt;" in operator.get(FINANCE_PAGE).text


def test_pages_are_not_cached_framed_or_scripted_from_elsewhere(ana: httpx.Client) -> None:
    page = ana.get("/workbench")
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-frame-options"] == "DENY"
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert not re.search(r'<script[^>]+src="(https?:)?//', page.text), "no CDN scripts"


def test_static_files_are_served_by_plain_name_only(ana: httpx.Client) -> None:
    assert ana.get("/static/app.js").status_code == 200
    for name in ("..%2Fsession.py", ".hidden.js", "app.py", "nope.css"):
        assert ana.get(f"/static/{name}").status_code == 404, name


def test_a_diff_between_two_revisions_shows_the_change_and_no_secret(
    platform: WebPlatform, operator: httpx.Client
) -> None:
    from dataos_defs.api.client import DataosClient
    from tests.web.web_support import OPS_SECRET

    changed = {
        **OPS_SECRET,
        "description": "rotated <b>now</b>",
        "instance-secret": {
            **OPS_SECRET["instance-secret"],  # type: ignore[dict-item]
            "data": {"token": "tok-rotated-N3ver-Show-either"},
        },
    }
    with DataosClient(platform.url, api_key=platform.server.api_key) as admin:
        admin.apply([{"manifest": changed}], None)
    page = operator.get("/operations/resources/instance-secret/ops-token/diff?a=1&b=2")
    assert page.status_code == 200
    assert '<span class="add">+description: rotated &lt;b&gt;now&lt;/b&gt;</span>' in page.text
    assert "tok-rotated-N3ver-Show-either" not in page.text
    assert SECRET_VALUES[1] not in page.text
    assert (
        operator.get("/operations/resources/instance-secret/ops-token/diff?a=1&b=9").status_code
        == 404
    )
