"""``noAuthentication`` is a right of its own: attacked as a plain user who may apply Services.

``dora`` is a data developer who may apply Services in ``public`` (the system policy) and
run the container stack (an operator granted her ``use`` on ``poros://stack/container``).
She tries to open a Service to everyone: directly, by re-applying her own authenticated
Service with ``noAuthentication``, and with the flag spelled in the ways YAML allows. Every
attempt is refused at admission with the reason and a hint, and nothing changes: the
Service is neither stored nor reachable without a key. Against a real API server (uvicorn
in this process) and real replica servers (:mod:`ingress_support`).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from ingress_support import Platform, ReplicaServer, service_yaml, start_platform

from tests.interfaces.conftest import wire

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

OPEN = "{enabled: true, path: /%s, noAuthentication: %s}"
CONTAINER_FOR_DORA = """\
name: dora-runs-containers
version: v1
type: policy
layer: user
policy:
  access:
    subjects: {tags: [[users:id:dora]]}
    predicates: [use]
    objects: {paths: [poros://stack/container]}
    allow: true
"""
EXPOSE_FOR_DORA = """\
name: dora-exposes-kiosk
version: v1
type: policy
layer: user
policy:
  access:
    subjects: {tags: [[users:id:dora]]}
    predicates: [expose]
    objects: {paths: [poros://service:public/kiosk]}
    allow: true
"""


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    yield from start_platform(tmp_path_factory)


@pytest.fixture(scope="module")
def dora(platform: Platform) -> str:
    """The API key of a data developer who may apply container-stack Services."""
    key = platform.user_key("dora", ["roles:id:data-dev"])
    applied = platform.apply(CONTAINER_FOR_DORA)
    assert applied.status_code == 200, applied.text
    return key


@pytest.fixture
def replica() -> Iterator[ReplicaServer]:
    started = ReplicaServer("r0")
    yield started
    started.stop()


def apply_as(platform: Platform, key: str, text: str) -> httpx.Response:
    body = {"documents": wire(text), "workspace": None, "dry_run": False}
    return httpx.post(
        f"{platform.url}/poros/api/v1/apply", json=body, headers={"apikey": key}, timeout=60
    )


def refusal(answer: httpx.Response) -> dict[str, str]:
    """The one issue of a 422 answer."""
    assert answer.status_code == 422, answer.text
    [issue] = answer.json()["error"]["issues"]
    return {k: str(v) for k, v in issue.items()}


@pytest.mark.parametrize("flag", ["true", "True", "yes", "on", "'true'"])
def test_a_user_who_may_apply_services_may_not_open_one_to_anyone(
    platform: Platform, dora: str, flag: str
) -> None:
    text = service_yaml("sneak", ingress=OPEN % ("sneak", flag))
    answer = apply_as(platform, dora, text)
    if answer.status_code == 422 and "noAuthentication" not in answer.text:
        pytest.fail(f"refused for another reason: {answer.text}")
    issue = refusal(answer)
    assert "noAuthentication" in issue["path"]
    assert "dora may not expose poros://service:public/sneak" in issue["message"]
    assert "remove noAuthentication" in issue["hint"] and "'expose'" in issue["hint"]
    assert platform.app.state.store.get("service", "sneak", "public") is None
    assert httpx.get(platform.url + "/public/sneak/").status_code == 401


def test_re_applying_ones_own_service_with_no_authentication_changes_nothing(
    platform: Platform, dora: str, replica: ReplicaServer
) -> None:
    closed = service_yaml("shop", ingress="{enabled: true, path: /shop}")
    assert apply_as(platform, dora, closed).status_code == 200
    platform.workloads.ready[("public", "shop")] = [replica.endpoint()]
    assert platform.wait_routed("/public/shop/", {"apikey": dora}).status_code == 200
    opened = service_yaml("shop", ingress=OPEN % ("shop", "true"))
    issue = refusal(apply_as(platform, dora, opened))
    assert "may not expose poros://service:public/shop" in issue["message"]
    stored = platform.app.state.store.get("service", "shop", "public")
    assert stored is not None
    assert stored.manifest["service"]["ingress"].get("noAuthentication") is not True
    replica.requests.clear()
    assert httpx.get(platform.url + "/public/shop/").status_code == 401
    assert replica.requests == []


def test_a_disabled_ingress_with_the_flag_needs_no_right_and_opens_nothing(
    platform: Platform, dora: str
) -> None:
    text = service_yaml("dormant", ingress="{enabled: false, noAuthentication: true}")
    assert apply_as(platform, dora, text).status_code == 200
    assert platform.wait_routed("/public/dormant/").status_code == 503  # routed, no replica
    assert httpx.get(platform.url + "/public/dormant/").status_code == 401


def test_operators_may_expose_and_a_policy_grants_it_for_one_service(
    platform: Platform, dora: str
) -> None:
    assert (
        platform.apply(service_yaml("lobby", ingress=OPEN % ("lobby", "true"))).status_code == 200
    )
    kiosk = service_yaml("kiosk", ingress=OPEN % ("kiosk", "true"))
    refusal(apply_as(platform, dora, kiosk))
    granted = platform.apply(EXPOSE_FOR_DORA)
    assert granted.status_code == 200, granted.text
    assert apply_as(platform, dora, kiosk).status_code == 200
    other = service_yaml("kiosk2", ingress=OPEN % ("kiosk2", "true"))
    refusal(apply_as(platform, dora, other))  # the grant names one Service only
    decisions = (platform.home / "decisions.jsonl").read_text()
    assert '"predicate":"expose","object":"poros://service:public/kiosk2"' in decisions
