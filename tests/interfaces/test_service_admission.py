"""Service admission through the real server and the real ``dataos-ctl``: ports, replicas,
public paths that escape their workspace or that two Services claim. Every refusal names
the file, line, field path, the problem and a hint, and nothing of the set is applied."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataos_defs.api.client import ApiFailure, DataosClient
from tests.interfaces.conftest import Server, run_cli, wire

pytestmark = pytest.mark.slow

SERVICE = """\
name: {name}
version: v1
type: service
service:
  servicePort: {port}
  replicas: {replicas}
{ingress}  stack: container
  compute: runnable-default
  stackSpec: {{image: python:3.11, command: [python, -c, "pass"]}}
"""
SECRET = """\
name: bystander
version: v1
type: secret
secret:
  type: key-value
  acl: r
  data: {token: t}
"""


def service(name: str, path: str | None = None, port: str = "8080", replicas: str = "1") -> str:
    ingress = f"  ingress: {{enabled: true, path: '{path}'}}\n" if path else ""
    return SERVICE.format(name=name, port=port, replicas=replicas, ingress=ingress)


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """The line (1-based) of the ``nth`` line of ``text`` that contains ``needle``."""
    found = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    return found[nth - 1]


def refused(server: Server, text: str, file: str = "svc.yaml") -> list[dict[str, object]]:
    with (
        DataosClient(server.url, api_key=server.api_key) as client,
        pytest.raises(ApiFailure) as caught,
    ):
        client.apply(wire(text, file), None)
    assert caught.value.status == 422, caught.value.error
    issues: list[dict[str, object]] = caught.value.error["issues"]
    assert issues
    return issues


def stored_names(server: Server) -> set[str]:
    with DataosClient(server.url, api_key=server.api_key) as client:
        return {r["name"] for r in client.list_resources(None, "public", None)}


def cli_apply(server: Server, tmp_path: Path, text: str, *flags: str) -> tuple[int, str]:
    path = tmp_path / "svc.yaml"
    path.write_text(text)
    done = run_cli(server, "apply", "-f", str(path), *flags)
    return done.returncode, done.stdout + done.stderr


def test_ports_and_replicas_out_of_range_are_positioned(server: Server, tmp_path: Path) -> None:
    text = SECRET + "---\n" + service("big", port="70000")
    code, out = cli_apply(server, tmp_path, text)
    assert code != 0
    assert f"svc.yaml:{line_of(text, 'servicePort')}" in out, out
    assert "service.servicePort" in out
    assert "less than or equal to 65535" in out
    code, out = cli_apply(server, tmp_path, service("neg", replicas="-1"))
    assert code != 0
    assert "svc.yaml:6" in out and "service.replicas" in out and "greater than or equal to 0" in out
    assert not {"bystander", "big", "neg"} & stored_names(server)


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("/../team-b/svc", "'..' segment"),
        ("/a/./b", "'.' segment"),
        ("//a", "empty segment"),
        ("/a//b", "empty segment"),
        ("/a/%2e%2e/b", "percent-encoded"),
        ("/a%2Fb", "percent-encoded"),
        ("/a\\\\b", "backslash"),
        ("/", "names no segment"),
        ("/a b", "characters other than"),
    ],
)
def test_an_ingress_path_that_escapes_its_workspace_is_refused(
    server: Server, path: str, problem: str
) -> None:
    text = SECRET + "---\n" + service("esc", path)
    issues = refused(server, text)
    assert [(i["file"], i["line"], i["path"]) for i in issues] == [
        ("svc.yaml", line_of(text, "ingress"), "service.ingress.path")
    ], issues
    assert "could escape its workspace" in str(issues[0]["message"])
    assert problem in str(issues[0]["message"])
    assert "letters, digits" in str(issues[0]["hint"])
    assert not {"bystander", "esc"} & stored_names(server)


def test_two_services_in_one_set_may_not_share_a_path(server: Server, tmp_path: Path) -> None:
    text = service("one", "/shop") + "---\n" + service("two", "/shop/")
    issues = refused(server, text)
    second = line_of(text, "ingress", 2)
    assert [(i["line"], i["path"]) for i in issues] == [(second, "service.ingress.path")], issues
    message = str(issues[0]["message"])
    assert "/public/shop, which is the same as /public/shop" in message
    assert "service one (in this set)" in message
    # apply -l (a dry run through the server) reports it too, and nothing is applied
    code, out = cli_apply(server, tmp_path, text, "-l")
    assert code != 0 and f"svc.yaml:{second}" in out and "service.ingress.path" in out, out
    overlapping = service("three", "/shop") + "---\n" + service("four", "/public/shop/admin")
    issues = refused(server, overlapping)
    assert "overlaps /public/shop" in str(issues[0]["message"])
    # a Service's default path /public/<name> is taken too
    text = service("five") + "---\n" + service("six", "/five/x")
    issues = refused(server, text)
    assert [(i["line"], i["path"]) for i in issues] == [
        (line_of(text, "ingress"), "service.ingress.path")
    ]
    assert not {"one", "two", "three", "four", "five", "six"} & stored_names(server)


def test_a_new_service_may_not_take_a_stored_services_path(server: Server) -> None:
    with DataosClient(server.url, api_key=server.api_key) as client:
        client.apply(wire(service("catalog-api", "/catalog")), None)
        client.apply(wire(service("plain")), None)
        # re-applying (an update) is no clash with itself; moving it elsewhere is fine
        client.apply(wire(service("catalog-api", "/catalog")), None)
    text = SECRET + "---\n" + service("thief", "/catalog/v2")
    issues = refused(server, text)
    assert [(i["line"], i["path"]) for i in issues] == [
        (line_of(text, "ingress"), "service.ingress.path")
    ]
    assert "service catalog-api (already applied)" in str(issues[0]["message"])
    assert "bystander" not in stored_names(server)
    # a stored Service that moves away in the same set frees its path
    with DataosClient(server.url, api_key=server.api_key) as client:
        client.apply(wire(service("plain", "/plain2") + "---\n" + service("taker", "/plain")), None)
    assert {"plain", "taker"} <= stored_names(server)
