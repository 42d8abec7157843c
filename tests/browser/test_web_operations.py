"""Operations in a real browser against real Dagster: a failing workflow's page shows its
status and runtime, its runtime nodes, its log (leading with the engine's error) with a
link to the run in the Dagster UI, its manifest and revisions; a plain user who may read
the workflow but not act as the identity its runs act as is refused the log.

The platform: the API server (``tests/web/web_support.start_server``) reconciling through
``dagster dev`` (``tests/dagster/dagster_support``), a FILE depot of products and a
lakehouse, and the flare workflow ``broken`` (no schedule: it runs once when applied) whose
SQL names a column its table does not have. Slow (Dagster starts and runs once); one
module, one platform. Screenshots: ``artifacts/web-operations-*.png``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from dagster_support import DROPS_AND_LAKE, dagster_env, interfaces, start_dagster, stop_dagster

from dataos_defs.api.client import DataosClient
from tests.web.web_browser import Viewer, browser_tools, chromium
from tests.web.web_support import PLAIN_TAGS, PLAIN_USER, start_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

PRODUCT = DROPS_AND_LAKE
BROKEN = """\
name: broken
version: v1
type: workflow
workflow:
  dag:
    - name: clean
      spec:
        stack: flare:7.0
        compute: runnable-default
        stackSpec:
          job:
            inputs:
              - name: products
                dataset: dataos://drops:none/products?acl=r
                format: csv
            steps:
              - sequence:
                  - name: cleaned
                    sql: SELECT p.product_id, p.nonexistent_col FROM products p
            outputs:
              - name: cleaned
                dataset: dataos://lake:shop/broken?acl=rw
                format: iceberg
"""
DONE = {"SUCCESS", "FAILURE", "CANCELED"}


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, str]]]:
    browser_tools()
    home = tmp_path_factory.mktemp("web-operations")
    drops = home / "data" / "drops"
    drops.mkdir(parents=True)
    (drops / "products.csv").write_text("product_id,category\np1,books\np2,games\n")
    port = interfaces().free_port()
    server = start_server(home, {"DAGSTER_WEBSERVER_URL": f"http://127.0.0.1:{port}"})
    try:
        dagster = start_dagster(home, port, dagster_env(home), timeout=300)
        try:
            for name, text in (("product", PRODUCT), ("broken", BROKEN)):
                (home / f"{name}.yaml").write_text(text)
                done = interfaces().run_cli(server, "apply", "-f", str(home / f"{name}.yaml"))
                assert done.returncode == 0, done.stderr
            with dagster.client() as client:
                deadline = time.monotonic() + 240
                while not any(r.status in DONE for r in client.runs("public__broken")):
                    assert time.monotonic() < deadline, "the run of broken did not end"
                    time.sleep(1)
            with DataosClient(server.url, api_key=server.api_key) as admin:
                admin.create_user(PLAIN_USER, tags=PLAIN_TAGS)
                keys = {PLAIN_USER: str(admin.create_api_key(PLAIN_USER)["key"])}
            yield server, {**keys, "operator": server.api_key}
        finally:
            stop_dagster(dagster)
    finally:
        interfaces().stop_server(server)


def test_the_operator_reads_a_failing_workflows_log(
    platform: tuple[Any, dict[str, str]], record_property: Callable[[str, object], None]
) -> None:
    server, keys = platform
    with chromium() as browser:
        viewer = Viewer(browser, server.url, record_property)
        try:
            viewer.sign_in(keys["operator"], "/operations")
            row = viewer.page.get_by_role("row").filter(has_text="broken")
            assert "failed" in row.inner_text()
            viewer.shot("operations-list")
            row.get_by_role("link", name="broken").click()
            viewer.page.wait_for_url(re.compile(r"/operations/resources/workflow/broken"))
            nodes = viewer.page.locator("section[aria-labelledby=nodes-heading]")
            nodes.get_by_role("cell", name="clean").wait_for()
            logs = viewer.page.locator("#logs")
            alert = logs.get_by_role("alert")
            alert.wait_for()
            assert "clean" in alert.inner_text()
            assert "nonexistent_col" in logs.inner_text()
            link = logs.get_by_role("link", name="open in the Dagster UI")
            assert re.fullmatch(r"/dagster/runs/[0-9a-f-]+", link.get_attribute("href") or "")
            viewer.page.locator(".manifest").get_by_text("nonexistent_col").wait_for()
            viewer.shot("operations-failing-workflow")
            viewer.sign_out()
        finally:
            viewer.close()


def test_a_plain_user_may_not_read_what_the_runs_saw_as_another(
    platform: tuple[Any, dict[str, str]], record_property: Callable[[str, object], None]
) -> None:
    server, keys = platform
    with chromium() as browser:
        viewer = Viewer(browser, server.url, record_property)
        try:
            viewer.sign_in(
                keys[PLAIN_USER], "/operations/resources/workflow/broken?workspace=public"
            )
            alert = viewer.page.locator("#logs").get_by_role("alert")
            alert.wait_for()
            assert "may not act as" in alert.inner_text()
            viewer.shot("operations-log-refused")
        finally:
            viewer.close()
