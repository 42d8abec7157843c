"""Pagers: jq conditions, ``dispatch`` end to end, pagers and secrets read from the store."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dataos_defs.manifest.errors import ManifestError
from dataos_defs.manifest.loader import load_documents, parse_yaml
from dataos_defs.manifest.pager import Pager
from dataos_defs.manifest.validate import parse_documents
from dataos_defs.monitor.deliveries import Backoff, Deliverer
from dataos_defs.monitor.deliveries_log import DELIVERY_LOG_FILE, DeliveryLog
from dataos_defs.monitor.deliveries_outputs import templates_of
from dataos_defs.monitor.deliveries_secrets import StoreSecrets
from dataos_defs.monitor.deliveries_targets import ALLOW_NETWORKS_ENV
from dataos_defs.monitor.pagers import (
    MAX_INCIDENT_BYTES,
    active_pagers,
    dispatch,
    shutdown,
    use_deliverer,
)
from dataos_defs.monitor.pagers_eval import (
    Check,
    Evaluation,
    EvaluationFailed,
    compare,
    evaluate,
    evaluate_bounded,
)
from dataos_defs.poros.apply import apply_resources
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store
from tests.monitor.deliveries_support import INCIDENT, http_receiver, webhook_pager

TOKEN = "vault-held-token-9f8e7d"


@pytest.mark.parametrize(
    ("left", "operator", "right", "expected"),
    [
        ("high", "equals", "high", True),
        (3, "equals", "3", True),
        ("high", "not_equals", "low", True),
        (5, "greater_than", 2, True),
        ("5", "greater_than", 20, False),
        ("b", "greater_than", "a", True),
        (None, "less_than", 1, False),
        ("job orders failed", "contains", "orders", True),
        (["a", "b"], "contains", "b", True),
        (7, "contains", "7", False),
    ],
)
def test_compare(left: object, operator: str, right: object, expected: bool) -> None:
    assert compare(left, operator, right) is expected


def test_conditions_use_real_jq_and_any_picked_value() -> None:
    incident = {**INCIDENT, "context": {"runs": [{"phase": "succeeded"}, {"phase": "failed"}]}}
    holds = [
        Check(".context.runs[] | .phase", "equals", "failed"),
        Check(".severity", "equals", "high"),
    ]
    assert evaluate(Evaluation(incident, holds)).matched
    one_false = [
        *holds,
        Check('.context.runs | map(select(.phase == "failed")) | length', "greater_than", 1),
    ]
    assert not evaluate(Evaluation(incident, one_false)).matched


def test_an_endless_jq_filter_is_stopped() -> None:
    started = time.monotonic()
    with pytest.raises(EvaluationFailed, match="time or memory"):
        evaluate_bounded(Evaluation(INCIDENT, [Check("[range(1e18)] | length", "equals", 1)]), 1.0)
    assert time.monotonic() - started < 8


def test_apply_refuses_an_invalid_jq_filter() -> None:
    text = (
        "name: bad\nversion: v1alpha\ntype: pager\npager:\n  conditions:\n"
        "    - {valueJqFilter: '.severity ==', operator: equals, value: high}\n"
        "  output:\n    msTeams: {webHookUrl: 'https://example.com/h'}\n"
    )
    documents, _ = parse_yaml(text, "bad.yaml")
    with pytest.raises(ManifestError, match="not a valid jq filter"):
        parse_documents(documents, "public")


@pytest.fixture
def deliverer_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Deliverer]:
    monkeypatch.setenv(ALLOW_NETWORKS_ENV, "127.0.0.1/32")
    settings = Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'poros.db'}")
    made = Deliverer(
        DeliveryLog.in_home(tmp_path),
        StoreSecrets(lambda: Store.open(settings=settings)),
        backoff=Backoff(attempts=2),
        sleep=lambda seconds: None,
    )
    previous = use_deliverer(made)
    yield made
    use_deliverer(previous)
    made.close()


def test_dispatch_returns_at_once_and_delivers_in_the_background(deliverer_in: Deliverer) -> None:
    with http_receiver() as receiver:
        hooks = [("public", webhook_pager(receiver.url)) for _ in range(3)]
        started = time.perf_counter()
        dispatch(INCIDENT, hooks)
        took = time.perf_counter() - started
        assert deliverer_in.drain()
    assert took < 0.05
    assert len(receiver.received) == 3


def test_dispatch_refuses_an_oversized_incident(
    deliverer_in: Deliverer, caplog: pytest.LogCaptureFixture
) -> None:
    with http_receiver() as receiver:
        huge = {**INCIDENT, "context": "x" * MAX_INCIDENT_BYTES}
        dispatch(huge, [("public", webhook_pager(receiver.url))])
        assert deliverer_in.drain()
    assert receiver.received == [] and "no pager was notified" in caplog.text


def _apply(store: Store, text: str, actor: str = "operator") -> None:
    documents, issues = parse_yaml(text, "m.yaml")
    assert not issues, issues
    apply_resources(store, parse_documents(documents, "public"), "public", actor)


SECRET = f"""\
name: hook
version: v1
type: secret
secret:
  type: key-value
  acl: r
  data:
    TOKEN: {TOKEN}
"""
PAGER = """\
name: vaulted
version: v1alpha
type: pager
pager:
  conditions:
    - valueJqFilter: .severity
      operator: equals
      value: high
  output:
    webHook:
      url: {url}/hook
      verb: post
      headers:
        Authorization: 'Bearer ${{{{secret.hook.TOKEN}}}}'
      authorization:
        token: literal-token-kept-sealed
        customHeader: X-Literal
"""


def test_secrets_come_from_the_vault_and_never_reach_the_log(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ALLOW_NETWORKS_ENV, "127.0.0.1/32")
    settings = Settings(home=tmp_path, database_url=store_url)
    with http_receiver() as receiver, Store.open(settings=settings) as store:
        _apply(store, SECRET + "---\n" + PAGER.format(url=receiver.url))
        stored = store.get("pager", "vaulted", "public")
        assert stored is not None and "literal-token-kept-sealed" not in json.dumps(stored.manifest)
        pagers = active_pagers(store)
        made = Deliverer(
            DeliveryLog.in_home(tmp_path),
            StoreSecrets(lambda: Store.open(settings=settings)),
            sleep=lambda seconds: None,
        )
        for workspace, found in pagers:
            made.submit(workspace, found, INCIDENT)
        assert made.drain()
        made.close()
    assert [(w, p.name) for w, p in pagers] == [("public", "vaulted")]
    [got] = receiver.received
    assert got.headers["authorization"] == f"Bearer {TOKEN}"
    assert got.headers["x-literal"] == "literal-token-kept-sealed"
    log_text = (tmp_path / DELIVERY_LOG_FILE).read_text()
    assert '"outcome":"delivered"' in log_text
    assert TOKEN not in log_text and "literal-token-kept-sealed" not in log_text


def test_apply_needs_the_referenced_secret(store_url: str, tmp_path: Path) -> None:
    with Store.open(settings=Settings(home=tmp_path, database_url=store_url)) as store:
        with pytest.raises(ManifestError, match="hook"):
            _apply(store, PAGER.format(url="https://example.com"))
        assert store.get("pager", "vaulted", "public") is None


def test_the_example_pager_renders_valid_json() -> None:
    documents = load_documents([Path(__file__).parents[2] / "resources" / "pager.yaml"], env={})
    [_, example] = [resource.model for resource in parse_documents(documents, "public")]
    assert isinstance(example, Pager)
    conditions = [Check(c.valueJqFilter, c.operator, c.value) for c in example.pager.conditions]
    evaluated = evaluate(Evaluation(INCIDENT, conditions, templates_of(example)))
    assert evaluated.matched and not evaluated.errors
    body = json.loads(evaluated.bodies["webHook"])
    assert body["title"] == "orders workflow failed" and body["context"] == INCIDENT["context"]


def test_shutdown_lets_queued_deliveries_finish(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ALLOW_NETWORKS_ENV, "127.0.0.1/32")
    monkeypatch.setenv("DATAOS_HOME", str(tmp_path))
    previous = use_deliverer(None)
    try:
        with http_receiver() as receiver:
            dispatch(INCIDENT, [("public", webhook_pager(receiver.url))])
            shutdown(timeout=20)
        assert len(receiver.received) == 1
        assert '"outcome":"delivered"' in (tmp_path / DELIVERY_LOG_FILE).read_text()
    finally:
        use_deliverer(previous)
