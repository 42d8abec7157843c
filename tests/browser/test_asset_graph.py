"""The Dagster UI's global asset lineage page shows the example data product, in a real browser,
through the API server's door.

The platform runs as ``make up`` runs it (``browser_support.door_platform``): the
API server, one code server, the writable webserver (the API server's alone) and the
read-only one behind ``/dagster/`` on the API server, all on free ports under a temporary
``DATAOS_HOME``; ``resources/`` is applied through ``dataos-ctl apply``, which reloads the code
location (both webservers see it: they share the code server). No PostgreSQL is needed: apply
validates the depots and secrets without connecting, and nothing is materialized.

Headless Debian Chromium, driven by Playwright, first meets the door: asking for the lineage
page without a session lands on the sign-in page, where it signs in with the operator's API
key (from the credentials file) and is sent back to the page it asked for. It opens
``/dagster/asset-groups`` (Dagster 1.13's "Global asset lineage" page) with every asset group
expanded, and the test reads what the page drew: the asset nodes (SVG ``foreignObject``
boxes, labelled with the last part of the asset key, inside their group's box) and the
lineage edges (SVG ``path`` elements with an arrow marker). Each edge is mapped to the nodes
its ends touch, and the lineage drawn must be exactly the one Dagster's GraphQL API reports
through the door (``assetNodes { assetKey dependencyKeys }``), which must hold the example's
lineage. Clicking ``customers_360`` must open it (its full key in the URL, its key and the
manifest's description in the side panel) and highlight exactly its three edges. The page's
GraphQL websocket must run through the door, and no uncaught error may occur in the page.

Screenshots go to ``artifacts/`` (git-ignored) and are listed at the end of the run.
"""

from __future__ import annotations

import importlib.util
import math
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
from browser_support import Platform, door_platform
from dagster_support import ROOT, interfaces

pytestmark = [pytest.mark.slow, pytest.mark.timeout(200)]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]  # Playwright adds a new empty --user-data-dir of its own at every launch.
INSTALL_HINT = (
    "install Debian's Chromium with `apt-get update && apt-get install -y chromium` and "
    "Playwright with `uv pip install --python .venv/bin/python playwright` "
    "(never `playwright install`: the test drives /usr/bin/chromium)"
)
ARTIFACTS = ROOT / "artifacts"
SESSION = "dataos_dagster_session"
VIEWPORT = {"width": 1600, "height": 1000}
WAIT_MS = 30_000

CUSTOMERS_360 = "lakehouse/shop/customers_360"
QUALITY = "dataos/public/shop-daily/quality-customer-360"
ASSETS = {
    "shoppg/public/customers",
    "shoppg/public/orders",
    "landing/none/products",
    "lakehouse/shop/customers",
    "lakehouse/shop/orders",
    CUSTOMERS_360,
    QUALITY,
}
LINEAGE = {
    ("shoppg/public/customers", "lakehouse/shop/customers"),
    ("shoppg/public/orders", "lakehouse/shop/orders"),
    ("landing/none/products", "lakehouse/shop/orders"),
    ("lakehouse/shop/customers", CUSTOMERS_360),
    ("lakehouse/shop/orders", CUSTOMERS_360),
    (CUSTOMERS_360, QUALITY),
}
ASSET_NODES = "{ assetNodes { assetKey { path } groupName dependencyKeys { path } } }"

GRAPH = 'svg[class*="AssetGraphExplorer_svgContainer"]'
READ_GRAPH = """() => {
  const svg = document.querySelector('$GRAPH');
  if (!svg) return null;
  const box = (f) => ({
    x: Number(f.getAttribute('x')), y: Number(f.getAttribute('y')),
    width: Number(f.getAttribute('width')), height: Number(f.getAttribute('height')),
  });
  const groups = [], nodes = [];
  for (const f of svg.querySelectorAll(':scope > foreignObject')) {
    const text = (f.textContent || '').trim();
    if (f.querySelector('[aria-label^="unfold"]')) {
      const title = f.querySelector('[data-tooltip]');
      groups.push({...box(f), label: title ? title.getAttribute('data-tooltip') : text});
    } else if (text) {
      const name = f.querySelector('[data-tooltip]');
      nodes.push({...box(f), label: name ? name.getAttribute('data-tooltip') : text});
    }
  }
  const edges = [...svg.querySelectorAll('path[marker-end]')].map((p) => ({
    d: p.getAttribute('d'), stroke: p.getAttribute('stroke') || '',
  }));
  return {groups, nodes, edges};
}""".replace("$GRAPH", GRAPH)
# True once the graph has at least the expected nodes and edges and the viewport has stopped
# moving (its zoom-to-fit transform read the same twice in a row).
RENDERED = """([nodes, edges]) => {
  const svg = document.querySelector('$GRAPH');
  if (!svg) return false;
  const drawn = [...svg.querySelectorAll(':scope > foreignObject')].filter(
    (f) => !f.querySelector('[aria-label^="unfold"]') && (f.textContent || '').trim());
  const viewport = document.querySelector('[data-svg-viewport] > div');
  const transform = viewport ? viewport.style.transform : '';
  const steady = transform !== '' && window.__lastGraphTransform === transform;
  window.__lastGraphTransform = transform;
  return drawn.length >= nodes && svg.querySelectorAll('path[marker-end]').length >= edges
    && steady;
}""".replace("$GRAPH", GRAPH)


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float
    label: str

    def distance(self, x: float, y: float) -> float:
        dx = max(self.x - x, 0.0, x - (self.x + self.width))
        dy = max(self.y - y, 0.0, y - (self.y + self.height))
        return math.hypot(dx, dy)

    def contains(self, other: Box) -> bool:
        return (
            self.x <= other.x
            and self.y <= other.y
            and other.x + other.width <= self.x + self.width
            and other.y + other.height <= self.y + self.height
        )


def browser_tools() -> None:
    """Fail (not skip) when Chromium or Playwright is missing: CI installs both."""
    missing = [
        name
        for name, present in (
            (str(CHROMIUM), CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)),
            ("the playwright Python package", importlib.util.find_spec("playwright") is not None),
        )
        if not present
    ]
    if missing:
        pytest.fail(f"missing {' and '.join(missing)}: {INSTALL_HINT}", pytrace=False)


def _skip_the_welcome_dialog(env: dict[str, str]) -> None:
    """The community sign-up dialog would cover the graph: mark it seen, as Skip would."""
    nux = Path(env["DAGSTER_HOME"]) / ".nux"
    nux.mkdir(parents=True, exist_ok=True)
    (nux / "nux.yaml").write_text("seen: 1\n")


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """``make up``'s processes on free ports, each stopped with its process group."""
    with door_platform(tmp_path_factory.mktemp("dataos-home"), _skip_the_welcome_dialog) as up:
        yield up


def key_of(path: list[str]) -> str:
    return "/".join(path)


def graphql_lineage(platform: Platform, timeout: float = 30) -> tuple[dict[str, str], set[Any]]:
    """``{asset key: group}`` and ``{(upstream, downstream)}`` once the example is loaded,
    asked through the door with the operator's API key."""
    deadline = time.monotonic() + timeout
    with httpx.Client(headers=platform.server.headers, timeout=30) as client:
        while True:
            answer = client.post(f"{platform.door}/graphql", json={"query": ASSET_NODES})
            assert answer.status_code == 200, answer.text
            nodes = answer.json()["data"]["assetNodes"]
            groups = {key_of(n["assetKey"]["path"]): n["groupName"] for n in nodes}
            if groups.keys() >= ASSETS or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    edges = {
        (key_of(dep["path"]), key_of(n["assetKey"]["path"]))
        for n in nodes
        for dep in n["dependencyKeys"]
    }
    return groups, edges


def label_matches(label: str, name: str) -> bool:
    """The UI shows the key's last part, middle-truncated with an ellipsis when long."""
    if "…" in label:
        head, _, tail = label.partition("…")
        return name.startswith(head) and name.endswith(tail) and len(name) > len(label)
    return label == name


def identify(graph: dict[str, Any], groups: dict[str, str]) -> dict[str, Box]:
    """``{asset key: its box on the page}``: each node's label, within its group's box."""
    group_boxes = [Box(**g) for g in graph["groups"]]
    found: dict[str, Box] = {}
    for raw in graph["nodes"]:
        node = Box(**raw)
        inside = [g.label for g in group_boxes if g.contains(node)]
        assert len(inside) == 1, f"node {node} is in groups {inside}"
        keys = [
            key
            for key, group in groups.items()
            if group == inside[0] and label_matches(node.label, key.split("/")[-1])
        ]
        assert len(keys) == 1, f"node {node.label!r} in group {inside[0]} matches {keys}"
        assert keys[0] not in found, f"{keys[0]} drawn twice"
        found[keys[0]] = node
    return found


def edge_ends(d: str, boxes: dict[str, Box], tolerance: float = 12) -> tuple[str, str]:
    """The assets an edge path runs between: the boxes nearest its first and last points."""
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", d)]
    assert len(numbers) >= 4, d
    ends = []
    for x, y in ((numbers[0], numbers[1]), (numbers[-2], numbers[-1])):
        key = min(boxes, key=lambda k: boxes[k].distance(x, y))
        assert boxes[key].distance(x, y) <= tolerance, f"edge {d} ends at ({x}, {y}), no node"
        ends.append(key)
    return ends[0], ends[1]


def test_global_asset_lineage_page_shows_the_example_graph(
    request: pytest.FixtureRequest, record_property: Any
) -> None:
    browser_tools()  # before the platform starts, and a failure of the test, not a setup error
    from playwright.sync_api import sync_playwright

    platform: Platform = request.getfixturevalue("platform")
    server = platform.server
    started = time.monotonic()
    pipeline = ("user", "create", "-i", "shop-pipeline", "-t", "application")
    created = interfaces().run_cli(server, *pipeline)
    assert created.returncode == 0, created.stderr
    applied = interfaces().run_cli(server, "apply", "-f", str(ROOT / "resources"), "--wait")
    assert applied.returncode == 0, applied.stderr
    assert "shop-daily:v1:workflow" in applied.stdout

    group_of, expected_edges = graphql_lineage(platform)
    assert group_of.keys() >= ASSETS, sorted(group_of)
    assert expected_edges >= LINEAGE, sorted(expected_edges)
    assert {group_of[k] for k in ASSETS} == {"public", "depot_shoppg", "depot_landing"}

    expanded = ",".join(f"global@global:{g}" for g in sorted(set(group_of.values())))
    url = f"{platform.door}/asset-groups?{urlencode({'expanded': expanded})}"
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "asset-graph.png"
    selected_shot = ARTIFACTS / "asset-graph-selected.png"
    sign_in_shot = ARTIFACTS / "dagster-sign-in.png"
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=WAIT_MS
        )
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.set_default_timeout(WAIT_MS)
            page.on("pageerror", lambda error: errors.append(str(error)))
            sockets: list[Any] = []
            # A lambda: Playwright cannot wrap a builtin method such as list.append.
            page.on("websocket", lambda socket: sockets.append(socket))  # noqa: PLW0108
            page.goto(url, wait_until="domcontentloaded")
            # No session yet: the door sends the browser to its sign-in page, then back.
            page.wait_for_url(re.compile(r"/dagster/login\?next="))
            page.screenshot(path=str(sign_in_shot))
            record_property("screenshot", str(sign_in_shot))
            page.fill("#api_key", server.api_key)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(re.compile(r"/dagster/asset-groups\?expanded="))
            [session] = [c for c in page.context.cookies() if c["name"] == SESSION]
            assert session["httpOnly"] and session["sameSite"] == "Strict"
            assert server.api_key not in session["value"]
            page.get_by_text("Global asset lineage").first.wait_for()
            page.wait_for_function(
                RENDERED, arg=[len(group_of), len(expected_edges)], polling=250, timeout=WAIT_MS
            )
            graph = page.evaluate(READ_GRAPH)
            # Read-only: the UI offers no launch.
            materialize = page.get_by_role("button", name=re.compile("Materialize"))
            materialize.first.wait_for()
            assert all(button.is_disabled() for button in materialize.all())
            page.screenshot(path=str(screenshot), full_page=True)
            record_property("screenshot", str(screenshot))

            boxes = identify(graph, group_of)
            assert set(boxes) == set(group_of), sorted(set(group_of) ^ set(boxes))
            drawn = [edge_ends(e["d"], boxes) for e in graph["edges"]]
            assert len(drawn) == len(set(drawn)), drawn
            assert set(drawn) == expected_edges, sorted(set(drawn) ^ expected_edges)
            assert not any("highlighted" in e["stroke"] for e in graph["edges"])

            page.locator(f"{GRAPH} > foreignObject").filter(
                has=page.get_by_text("customers_360", exact=True)
            ).click()
            page.wait_for_url(re.compile(rf"/asset-groups/{quote(CUSTOMERS_360, safe='')}(\?|$)"))
            page.get_by_text(" / ".join(CUSTOMERS_360.split("/")), exact=True).wait_for()
            # The side panel shows the manifest's description of the dataset.
            page.get_by_text("one row per customer with their order totals").wait_for()
            page.wait_for_function(
                f"() => document.querySelectorAll('{GRAPH} path[stroke*=\"highlighted\"]')"
                ".length >= 3",
                timeout=WAIT_MS,
            )
            page.screenshot(path=str(selected_shot), full_page=True)
            record_property("screenshot", str(selected_shot))
            after = page.evaluate(READ_GRAPH)
            highlighted = {
                edge_ends(e["d"], boxes) for e in after["edges"] if "highlighted" in e["stroke"]
            }
            assert highlighted == {e for e in expected_edges if CUSTOMERS_360 in e}
            door = server.url.replace("http", "ws", 1) + "/dagster/graphql"
            door_sockets = [w for w in sockets if w.url == door]
            assert door_sockets, [w.url for w in sockets]
            assert not any(w.is_closed() for w in door_sockets)
        finally:
            browser.close()

    assert not errors, errors
    print(f"asset graph screenshot: {screenshot} ({time.monotonic() - started:.1f} s)")
