"""Where pagers may send, tried the ways an attacker would reach inside the platform."""

from __future__ import annotations

import ipaddress

import pytest

from dataos_defs.monitor.deliveries_send import HttpRequest, email_message, send_http
from dataos_defs.monitor.deliveries_targets import (
    ALLOW_NETWORKS_ENV,
    Resolver,
    TargetRefused,
    allowed_networks,
    check_url,
)
from tests.monitor.deliveries_support import http_receiver

LOOPBACK = [ipaddress.ip_network("127.0.0.1/32")]


def resolver(*addresses: str) -> Resolver:
    return lambda host, port: list(addresses)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/iam/",
        "http://[fe80::1]/x",
        "http://[::ffff:169.254.169.254]/x",
        "http://0251.0376.0251.0376/x",
    ],
)
def test_link_local_is_refused_even_when_allowed(url: str) -> None:
    allow_all = [ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")]
    with pytest.raises(TargetRefused, match=r"link-local|does not resolve"):
        check_url(url, allow_all)


def test_a_name_resolving_to_metadata_is_refused() -> None:
    with pytest.raises(TargetRefused, match="link-local"):
        check_url("https://hooks.example/x", [], resolver("93.184.216.34", "169.254.169.254"))


@pytest.mark.parametrize("address", ["127.0.0.1", "127.9.9.9", "::1", "0.0.0.0", "224.0.0.1"])
def test_loopback_and_reserved_need_the_operator_setting(address: str) -> None:
    with pytest.raises(TargetRefused, match=ALLOW_NETWORKS_ENV):
        check_url("http://receiver.example/x", [], resolver(address))


def test_the_setting_allows_only_what_it_names() -> None:
    assert check_url("http://r.example:8080/x", LOOPBACK, resolver("127.0.0.1")).port == 8080
    with pytest.raises(TargetRefused):
        check_url("http://r.example/x", LOOPBACK, resolver("127.0.0.2"))


def test_private_and_public_addresses_pass() -> None:
    target = check_url("https://chat.internal/hook?token=t", [], resolver("10.1.2.3"))
    assert (target.host, target.port) == ("chat.internal", 443)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("file:///etc/passwd", "http"),
        ("gopher://x.example/", "http"),
        ("http:///nohost", "http"),
        ("https://user:pw@hooks.example/x", "credentials"),
        ("https://hooks.example:99999/x", "port"),
    ],
)
def test_malformed_urls_are_refused(url: str, why: str) -> None:
    with pytest.raises(TargetRefused, match=why):
        check_url(url, [], resolver("93.184.216.34"))


def test_a_bad_setting_is_a_clear_error() -> None:
    with pytest.raises(TargetRefused, match="not a network"):
        allowed_networks({ALLOW_NETWORKS_ENV: "127.0.0.1/32, loopback"})
    assert allowed_networks({}) == ()


def test_the_request_connects_to_the_checked_address() -> None:
    with http_receiver() as receiver:
        port = receiver.url.rsplit(":", 1)[1]
        request = HttpRequest(
            "post",
            f"http://pinned.invalid:{port}/hook?x=1",
            "pinned.invalid",
            "127.0.0.1",
            {"host": "evil.example", "X-A": "b"},
            b"{}",
        )
        assert send_http(request).ok
    [got] = receiver.received
    assert got.headers["host"] == f"pinned.invalid:{port}" and got.path == "/hook?x=1"


def test_an_incident_cannot_inject_email_headers() -> None:
    hostile = "disk full\r\nBcc: everyone@victim.example\r\n\r\nfake body"
    message = email_message("pager@dataos.test", ["oncall@dataos.test"], hostile, "body")
    assert message["Bcc"] is None
    assert "\n" not in str(message["Subject"]) and message["Subject"].startswith("disk full")
