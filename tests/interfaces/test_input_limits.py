"""Bounded input, as an attacker or a careless user sends it: alias bombs, deep nesting and
huge manifests are refused with clear errors in the API's JSON shape, and stdin works."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from manifests import product

from dataos_defs.api.limits import MAX_APPLY_ENV, MAX_MANIFEST_ENV, json_nests_deeper
from dataos_defs.manifest.compose import MAX_DEPTH
from tests.interfaces.conftest import CLI, ROOT, Server, run_cli, start_server, stop_server, wire

pytestmark = pytest.mark.slow
APPLY = "/poros/api/v1/apply"
MiB = 1024 * 1024
JSON = {"Content-Type": "application/json"}


def nested(depth: int) -> str:
    """JSON nesting ``depth`` levels, written out (``json.dumps`` itself recurses)."""
    opening, closing = ('{"k": ', "}") if depth % 2 else ("[", "]")
    return opening * depth + '"leaf"' + closing * depth


def with_options(prefix: str, options: Any) -> list[dict[str, Any]]:
    """The example product, its workflow's input carrying free-form ``options``."""
    documents = wire(product(prefix))
    job = documents[2]["manifest"]["workflow"]["dag"][0]["spec"]["stackSpec"]["job"]
    job["inputs"][0]["options"] = options
    return documents


def apply_body(prefix: str, options_json: str) -> bytes:
    text = json.dumps({"documents": with_options(prefix, "OPTIONS")})
    return text.replace('"OPTIONS"', options_json).encode()


def assert_error(response: httpx.Response, status: int, code: str, fragment: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert set(error) == {"code", "message", "hint", "issues"}
    assert error["code"] == code and fragment in error["message"], error
    assert error["hint"]


def stored(server: Server, name: str) -> list[Any]:
    listed = run_cli(server, "get", "-n", name, "-o", "json")
    assert listed.returncode == 0, listed.stderr
    return list(json.loads(listed.stdout))


@pytest.mark.parametrize("depth", [600, 900, 995, 5_000, 100_000])
def test_deeply_nested_options_are_refused_as_json_422(server: Server, depth: int) -> None:
    body = apply_body(f"d{depth}", nested(depth))
    response = httpx.post(
        f"{server.url}{APPLY}", content=body, headers=JSON | server.headers, timeout=30
    )
    assert_error(response, 422, "too_deeply_nested", f"at most {MAX_DEPTH} within a manifest")
    assert httpx.get(f"{server.url}/health").status_code == 200
    assert stored(server, f"d{depth}-copy") == []


def test_options_nested_within_the_limit_are_applied(server: Server) -> None:
    body = apply_body("dok", nested(MAX_DEPTH - 15))  # odd: mappings, as options are
    response = httpx.post(
        f"{server.url}{APPLY}", content=body, headers=JSON | server.headers, timeout=30
    )
    assert response.status_code == 200, response.text
    [workflow] = [r for r in response.json()["results"] if r["type"] == "workflow"]
    assert workflow["action"] == "created"


def test_a_20_mib_manifest_is_refused_before_it_is_read(server: Server) -> None:
    documents = with_options("big", {"blob": "x" * (20 * MiB)})
    response = httpx.post(
        f"{server.url}{APPLY}", json={"documents": documents}, headers=server.headers, timeout=60
    )
    assert_error(response, 413, "payload_too_large", "the limit is 16.0 MiB per request")
    assert MAX_APPLY_ENV in response.json()["error"]["hint"]
    assert stored(server, "big-copy") == []


def test_a_manifest_over_its_own_limit_is_refused_and_named(server: Server) -> None:
    documents = with_options("one", {"blob": "x" * (2 * MiB)})
    response = httpx.post(
        f"{server.url}{APPLY}", json={"documents": documents}, headers=server.headers, timeout=60
    )
    assert_error(response, 413, "payload_too_large", "manifest 3 (m.yaml, document 3) is 2.0")
    assert "the limit is 1.0 MiB per manifest" in response.json()["error"]["message"]
    assert stored(server, "one-copy") == []
    assert stored(server, "onepg") == []


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose limits come from the environment: 64 KiB per apply, 8 KiB per manifest."""
    home = tmp_path_factory.mktemp("small-limits")
    running = start_server(home, extra_env={MAX_APPLY_ENV: "65536", MAX_MANIFEST_ENV: "8192"})
    yield running
    stop_server(running)


def test_limits_come_from_the_environment_and_bind_streamed_bodies(small_server: Server) -> None:
    body = json.dumps({"documents": with_options("s", {"blob": "x" * 100_000})}).encode()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    streamed = httpx.post(
        f"{small_server.url}{APPLY}", content=chunks(), headers=small_server.headers, timeout=30
    )
    assert "content-length" not in {k.lower() for k in streamed.request.headers}
    assert_error(streamed, 413, "payload_too_large", "the limit is 65536 bytes per request")
    per_manifest = httpx.post(
        f"{small_server.url}{APPLY}",
        json={"documents": with_options("s", {"blob": "x" * 10_000})},
        headers=small_server.headers,
        timeout=30,
    )
    assert_error(per_manifest, 413, "payload_too_large", "the limit is 8192 bytes per manifest")


def test_the_cli_shows_the_servers_size_message(small_server: Server, tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    text = product("c").replace("description: copies a table", f"description: {'y' * 10_000}")
    path.write_text(text)
    result = run_cli(small_server, "apply", "-f", str(path))
    assert result.returncode == 1
    assert "the limit is 8192 bytes per manifest" in result.stderr
    assert MAX_MANIFEST_ENV in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["lint", "apply"])
def test_the_cli_refuses_an_alias_bomb_quickly(
    server: Server, tmp_path: Path, command: str
) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    started = time.monotonic()
    result = run_cli(server, command, "-f", str(path))
    assert time.monotonic() - started < 15
    assert result.returncode == 1
    assert f"{path}:6:40: a5[6]: more than 500000 values once aliases are expanded" in (
        result.stdout + result.stderr
    )


@pytest.mark.parametrize("command", ["lint", "apply"])
def test_the_cli_refuses_5000_levels_without_a_traceback(
    server: Server, tmp_path: Path, command: str
) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")
    result = run_cli(server, command, "-f", str(path))
    output = result.stdout + result.stderr
    assert result.returncode == 1
    assert f"{path}:1:{3 + MAX_DEPTH}: a[0][0]" in output
    assert "nested deeper than 100 levels" in output
    assert "Traceback" not in output and "RecursionError" not in output


def run_stdin(server: Server, text: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        cwd=ROOT,
        env=server.env(),
        input=text,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("source", ["-", "/dev/stdin"])
def test_apply_and_lint_read_manifests_from_stdin(server: Server, source: str) -> None:
    prefix = "in" if source == "-" else "dev"
    linted = run_stdin(server, product(prefix), "lint", "-f", source)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    assert "3 manifests checked: ok" in linted.stdout
    applied = run_stdin(server, product(prefix), "apply", "-f", source)
    assert applied.returncode == 0, applied.stderr
    assert f"applying(public) {prefix}-copy:v1:workflow...created" in applied.stdout
    bad = run_stdin(server, product(prefix).replace('"0 3 * * *"', '"0 3"'), "lint", "-f", source)
    name = "<stdin>" if source == "-" else source
    assert bad.returncode == 1
    assert f"{name}:" in bad.stdout and "workflow.schedule.cron" in bad.stdout


def test_directory_lint_reports_every_files_problems(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a-duplicate.yaml").write_text("name: a\nname: b\n")
    (tmp_path / "b-good.yaml").write_text(product("g"))
    bad_cron = product("h").replace('"0 3 * * *"', '"0 3"')
    (tmp_path / "sub" / "c-cron.yaml").write_text(bad_cron)
    (tmp_path / "sub" / "d-syntax.yaml").write_text("a: [1\n")
    result = run_cli(None, "lint", "-R", "-f", str(tmp_path))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[-1] == "6 manifests checked: 3 problems"
    assert lines[0].startswith(f"{tmp_path}/a-duplicate.yaml:2:1: name: duplicate key 'name'")
    assert lines[1].startswith(f"{tmp_path}/sub/c-cron.yaml:")
    assert "workflow.schedule.cron" in lines[1]
    assert lines[2].startswith(f"{tmp_path}/sub/d-syntax.yaml:")


@pytest.mark.parametrize("depth", [1, 50, 102, 103, 104, 500])
def test_the_json_depth_scan_agrees_with_the_parser(depth: int) -> None:
    text = f'{{"s": "[[[{{{{", "v": {nested(depth)}, "t": ["\\\\\\"]]]}}}}", []]}}'
    deepest, stack = 0, [(json.loads(text), 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, level)
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, level + 1) for child in children)
    assert json_nests_deeper(text.encode(), 103) == (deepest > 103)
