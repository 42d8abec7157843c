"""Deliveries to real receivers on 127.0.0.1: webhook, Teams, email; retries; the log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dataos_defs.monitor.deliveries_log import DELIVERY_LOG_FILE
from dataos_defs.monitor.deliveries_targets import ALLOW_NETWORKS_ENV
from tests.monitor.deliveries_support import (
    INCIDENT,
    DictSecrets,
    deliverer,
    http_receiver,
    pager,
    self_signed,
    smtp_receiver,
    webhook_pager,
)

HOOK_SECRET = "s3cr3t-hook-token-4711"


@pytest.fixture(autouse=True)
def allow_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW_NETWORKS_ENV, "127.0.0.1/32")


def records(home: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (home / DELIVERY_LOG_FILE).read_text().splitlines()]


def test_webhook_gets_rendered_body_and_secret_header(tmp_path: Path) -> None:
    extra = (
        "      headers:\n"
        "        X-Hook-Token: 'token ${{secret.hook.TOKEN}}'\n"
        "        X-Team: data\n"
    )
    body = '{"text": "{{ .Name }} ({{ severity }})", "why": "{{ context.message }}"}'
    secrets = DictSecrets({("public", "hook", "TOKEN"): HOOK_SECRET})
    with http_receiver() as receiver:
        made, _ = deliverer(tmp_path, secrets)
        made.submit("public", webhook_pager(receiver.url + "/hook?sig=abc", body, extra), INCIDENT)
        assert made.drain()
        made.close()
    [got] = receiver.received
    assert (got.method, got.path) == ("POST", "/hook?sig=abc")
    assert got.headers["x-hook-token"] == f"token {HOOK_SECRET}"
    assert got.headers["x-team"] == "data"
    assert got.headers["content-type"] == "application/json"
    assert json.loads(got.body) == {
        "text": "orders workflow failed (high)",
        "why": 'step "load" said: bad\nrow',
    }
    [entry] = records(tmp_path)
    assert entry["outcome"] == "delivered" and entry["status"] == 200
    assert entry["target"] == "127.0.0.1" and entry["pager"] == "public/orders-hook"
    log_text = (tmp_path / DELIVERY_LOG_FILE).read_text()
    assert HOOK_SECRET not in log_text and "sig=abc" not in log_text and "/hook" not in log_text


def test_500_is_retried_with_bounded_backoff_until_delivered(tmp_path: Path) -> None:
    with http_receiver([500, 503, 502]) as receiver:
        made, slept = deliverer(tmp_path)
        made.submit("public", webhook_pager(receiver.url), INCIDENT)
        assert made.drain()
        made.close()
    assert len(receiver.received) == 4
    outcomes = [(r["attempt"], r["outcome"], r["status"]) for r in records(tmp_path)]
    assert outcomes == [
        (1, "retrying", 500),
        (2, "retrying", 503),
        (3, "retrying", 502),
        (4, "delivered", 200),
    ]
    assert len(slept) == 3
    for attempt, delay in enumerate(slept, start=1):
        assert 0.5 * 2 ** (attempt - 1) <= delay <= 2 ** (attempt - 1)


def test_gives_up_after_the_last_attempt(tmp_path: Path) -> None:
    with http_receiver([500] * 10) as receiver:
        made, slept = deliverer(tmp_path, attempts=3)
        made.submit("public", webhook_pager(receiver.url), INCIDENT)
        assert made.drain()
        made.close()
    assert len(receiver.received) == 3 and len(slept) == 2
    assert [r["outcome"] for r in records(tmp_path)] == ["retrying", "retrying", "failed"]


@pytest.mark.parametrize("status", [400, 401, 404, 302])
def test_4xx_and_redirects_are_not_retried(tmp_path: Path, status: int) -> None:
    with http_receiver([status]) as receiver:
        made, slept = deliverer(tmp_path)
        made.submit("public", webhook_pager(receiver.url), INCIDENT)
        assert made.drain()
        made.close()
    assert len(receiver.received) == 1 and slept == []
    [entry] = records(tmp_path)
    assert (entry["outcome"], entry["status"]) == ("failed", status)


def test_connection_refused_is_retried(tmp_path: Path) -> None:
    with http_receiver() as receiver:
        url = receiver.url
    made, slept = deliverer(tmp_path, attempts=2)
    made.submit("public", webhook_pager(url), INCIDENT)
    assert made.drain()
    assert len(slept) == 1
    made.close()
    assert [r["outcome"] for r in records(tmp_path)] == ["retrying", "failed"]
    assert "cannot reach 127.0.0.1" in str(records(tmp_path)[-1]["error"])


def test_teams_gets_an_adaptive_card_message(tmp_path: Path) -> None:
    with http_receiver() as receiver:
        made, _ = deliverer(tmp_path)
        teams = pager(
            "name: orders-teams\nversion: v1alpha\ntype: pager\npager:\n  conditions:\n"
            "    - {valueJqFilter: .occurrences, operator: greater_than_equals, value: 2}\n"
            f"  output:\n    msTeams:\n      webHookUrl: {receiver.url}/webhookb2/abc\n"
        )
        made.submit("public", teams, INCIDENT)
        assert made.drain()
        made.close()
    [got] = receiver.received
    message = json.loads(got.body)
    assert message["type"] == "message"
    [attachment] = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.2"
    assert card["body"][0] == {
        "type": "TextBlock",
        "size": "Medium",
        "weight": "Bolder",
        "text": "orders workflow failed",
        "wrap": True,
    }
    facts = {fact["title"]: fact["value"] for fact in card["body"][1]["facts"]}
    assert facts["Severity"] == "high" and facts["Incident"] == "inc-42"


def test_email_reaches_the_smtp_receiver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with smtp_receiver() as (port, mailbox):
        monkeypatch.setenv("DATAOS_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("DATAOS_SMTP_PORT", str(port))
        monkeypatch.setenv("DATAOS_SMTP_FROM", "pager@dataos.test")
        monkeypatch.setenv("DATAOS_SMTP_STARTTLS", "false")
        made, _ = deliverer(tmp_path)
        mail = pager(
            "name: orders-mail\nversion: v1alpha\ntype: pager\npager:\n  conditions:\n"
            "    - {valueJqFilter: .context.workflow, operator: equals, value: orders}\n"
            "  output:\n    email:\n      emailTargets: [oncall@dataos.test, lead@dataos.test]\n"
            "      bodyTemplate: 'Workflow {{ context.workflow }} failed {{ occurrences }} times'\n"
        )
        made.submit("public", mail, INCIDENT)
        assert made.drain()
        made.close()
    [(recipients, message)] = mailbox.messages
    assert recipients == ["oncall@dataos.test", "lead@dataos.test"]
    assert message["Subject"] == "[high] orders workflow failed"
    assert message["From"] == "pager@dataos.test"
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    assert payload.decode().strip() == "Workflow orders failed 2 times"
    [entry] = records(tmp_path)
    assert (entry["output"], entry["outcome"], entry["target"]) == (
        "email",
        "delivered",
        "127.0.0.1",
    )


def test_email_over_starttls_logs_in_with_a_secret_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = self_signed(tmp_path)
    password = "smtp-vault-password-77"
    with smtp_receiver(tls=(cert, key), logins={"pager": password}) as (port, mailbox):
        for name, value in {
            "DATAOS_SMTP_HOST": "127.0.0.1",
            "DATAOS_SMTP_PORT": str(port),
            "DATAOS_SMTP_CA_FILE": str(cert),
            "DATAOS_SMTP_USER": "pager",
            "DATAOS_SMTP_PASSWORD": "${{secret.smtp.PASSWORD}}",
        }.items():
            monkeypatch.setenv(name, value)
        secrets = DictSecrets({("", "smtp", "PASSWORD"): password})
        made, _ = deliverer(tmp_path, secrets)
        mail = pager(
            "name: m\nversion: v1alpha\ntype: pager\npager:\n  conditions:\n"
            "    - {valueJqFilter: .id, operator: equals, value: inc-42}\n"
            "  output:\n    email:\n      emailTargets: [oncall@dataos.test]\n"
        )
        made.submit("public", mail, INCIDENT)
        assert made.drain()
        made.close()
    assert mailbox.logins == ["pager"] and len(mailbox.messages) == 1
    assert [r["outcome"] for r in records(tmp_path)] == ["delivered"]
    assert password not in (tmp_path / DELIVERY_LOG_FILE).read_text()


def test_smtp_credentials_never_cross_without_starttls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with smtp_receiver() as (port, mailbox):
        for name, value in {
            "DATAOS_SMTP_HOST": "127.0.0.1",
            "DATAOS_SMTP_PORT": str(port),
            "DATAOS_SMTP_STARTTLS": "false",
            "DATAOS_SMTP_USER": "pager",
            "DATAOS_SMTP_PASSWORD": "smtp-password-123",
        }.items():
            monkeypatch.setenv(name, value)
        made, slept = deliverer(tmp_path)
        mail = pager(
            "name: m\nversion: v1alpha\ntype: pager\npager:\n  conditions:\n"
            "    - {valueJqFilter: .id, operator: equals, value: inc-42}\n"
            "  output:\n    email:\n      emailTargets: [oncall@dataos.test]\n"
        )
        made.submit("public", mail, INCIDENT)
        assert made.drain()
        made.close()
    assert mailbox.messages == [] and slept == []
    [entry] = records(tmp_path)
    assert entry["outcome"] == "failed" and "clear text" in str(entry["error"])
    assert "smtp-password-123" not in (tmp_path / DELIVERY_LOG_FILE).read_text()


def test_conditions_are_anded(tmp_path: Path) -> None:
    with http_receiver() as receiver:
        made, _ = deliverer(tmp_path)
        both = (
            "name: {name}\nversion: v1alpha\ntype: pager\npager:\n  conditions:\n"
            "    - {{valueJqFilter: .severity, operator: equals, value: high}}\n"
            "    - {{valueJqFilter: .occurrences, operator: greater_than, value: {n}}}\n"
            "  output:\n    webHook: {{url: '{url}/{name}', verb: post}}\n"
        )
        for name, n in (("holds", 1), ("fails", 5)):
            made.submit("public", pager(both.format(name=name, n=n, url=receiver.url)), INCIDENT)
        assert made.drain()
        made.close()
    assert [r.path for r in receiver.received] == ["/holds"]
    assert [r["pager"] for r in records(tmp_path)] == ["public/holds"]


def test_link_local_and_loopback_targets_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ALLOW_NETWORKS_ENV, "169.254.0.0/16")
    made, slept = deliverer(tmp_path)
    made.submit("public", webhook_pager("http://169.254.169.254/latest/meta-data/"), INCIDENT)
    assert made.drain()
    monkeypatch.delenv(ALLOW_NETWORKS_ENV)
    made.submit("public", webhook_pager("http://127.0.0.1:9/x"), INCIDENT)
    made.submit("public", webhook_pager("http://localhost:9/x"), INCIDENT)
    assert made.drain()
    made.close()
    found = records(tmp_path)
    assert [r["outcome"] for r in found] == ["refused"] * 3 and slept == []
    assert "link-local" in str(found[0]["error"])
    assert ALLOW_NETWORKS_ENV in str(found[1]["error"]) and ALLOW_NETWORKS_ENV in str(
        found[2]["error"]
    )


def test_a_missing_secret_refuses_without_retry(tmp_path: Path) -> None:
    extra = "      headers:\n        Authorization: 'Bearer ${{secret.nothere.TOKEN}}'\n"
    with http_receiver() as receiver:
        made, slept = deliverer(tmp_path)
        made.submit("public", webhook_pager(receiver.url, extra=extra), INCIDENT)
        assert made.drain()
        made.close()
    assert receiver.received == [] and slept == []
    [entry] = records(tmp_path)
    assert entry["outcome"] == "refused" and "nothere" in str(entry["error"])


def test_a_full_queue_drops_with_a_record(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with http_receiver() as receiver:
        made, _ = deliverer(tmp_path, queue_size=1, workers=1)
        hook = webhook_pager(receiver.url)
        accepted = [made.submit("public", hook, {**INCIDENT, "id": f"i{n}"}) for n in range(30)]
        assert made.drain()
        made.close()
    assert accepted[0] and not all(accepted) and made.dropped == accepted.count(False)
    dropped = [r for r in records(tmp_path) if r["outcome"] == "dropped"]
    assert len(dropped) == made.dropped and "queue was full" in str(dropped[0]["error"])
    assert "pager delivery queue full" in caplog.text
    assert len(receiver.received) == accepted.count(True)
