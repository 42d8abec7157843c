"""A local container job gets its Secrets as environment variables, read from the store.

The executor is the one the code location registers, ``run_container`` with the
``store_secret_env`` resolver, so the values come from a real SQLite store (encrypted there)
written through the apply service. The job's command is a real ``python -c`` process that
reports, through Pipes, a digest of each variable it sees: the values themselves must not
reach the event log, the compiled Definitions or the asset metadata.
"""

from __future__ import annotations

import hashlib
import json
import sys
import textwrap
from functools import partial
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.remote_representation.external_data import RepositorySnap
from dagster._serdes import serialize_value

from dataos_defs.compile import CompileInput, compile_definitions
from dataos_defs.location.executors import executors
from dataos_defs.manifest.common import RuntimeSpec
from dataos_defs.manifest.loader import parse_yaml
from dataos_defs.manifest.validate import parse_documents
from dataos_defs.manifest.workflow import Workflow
from dataos_defs.poros.apply import apply_resources
from dataos_defs.poros.identities import Identities
from dataos_defs.poros.secret_env import SecretNotFound, secret_env, store_secret_env
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store
from dataos_defs.stacks.container.pipes import run_container

VALUES = {
    "DB_USER": "reader-7f3a",
    "DB_PASSWORD": "pa55-w0rd-91c2e",
    "DB_HOST": "db.internal.example",
    "TOKEN": "tok-5d1e-a9b8",
    "UNUSED": "spare-3c7d-0042",
    "CERT": "-----BEGIN-3e81-----",
}
SECRETS = f"""\
name: shop-db
version: v1
type: secret
secret:
  type: key-value
  acl: r
  data:
    DB_USER: {VALUES["DB_USER"]}
    DB_PASSWORD: {VALUES["DB_PASSWORD"]}
    DB_HOST: {VALUES["DB_HOST"]}
---
name: certs
version: v1
type: secret
secret:
  type: certificate
  acl: r
  data:
    CERT: "{VALUES["CERT"]}"
---
name: api-token
version: v1
type: instance-secret
instance-secret:
  type: key-value
  acl: r
  data:
    TOKEN: {VALUES["TOKEN"]}
    UNUSED: {VALUES["UNUSED"]}
"""
REPORT = f"""\
import hashlib, json, os
from dagster_pipes import open_dagster_pipes
names = {sorted(VALUES)!r}
with open_dagster_pipes() as pipes:
    seen = {{
        name: hashlib.sha256(os.environ[name].encode()).hexdigest()
        for name in names if name in os.environ
    }}
    pipes.report_asset_materialization(metadata={{"seen": json.dumps(seen)}})
"""
WORKFLOW = """\
name: ship
version: v1
type: workflow
workflow:
  dag:
    - name: report
      spec:
        stack: container
        envs: {{DB_HOST: from-envs}}
        secrets: [api-token]
        dataosSecrets:
          - {{name: shop-db, keys: [DB_PASSWORD, DB_HOST]}}
          - {{name: certs, consumptionType: file}}
        stackSpec:
          image: registry.example.com/shop/report:1.2
          command: [{python}, -c, {report}]
"""


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store holding the secrets; the environment names it, as in a step's process."""
    for name in ("DATAOS_DATABASE_URL", "DATAOS_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATAOS_HOME", str(tmp_path))
    monkeypatch.setenv("DATAOS_RUN_MODE", "embedded")
    documents, problems = parse_yaml(SECRETS, "secrets.yaml")
    assert not problems
    with Store.open(settings=Settings.from_env()) as store:
        apply_resources(store, parse_documents(documents), None, "tester")
        Identities(store).create_user("tester", "application")
    return tmp_path


def workflow() -> Workflow:
    text = WORKFLOW.format(python=json.dumps(sys.executable), report=json.dumps(REPORT))
    documents, problems = parse_yaml(textwrap.dedent(text), "ship.yaml")
    assert not problems
    (parsed,) = parse_documents(documents)
    assert isinstance(parsed.model, Workflow)
    return parsed.model


def test_the_process_sees_its_secrets_and_no_value_is_recorded(home: Path) -> None:
    executor = executors()["container"]
    defs = compile_definitions([CompileInput(workflow(), run_as="tester")], {"container": executor})
    instance = dg.DagsterInstance.ephemeral()
    result = defs.resolve_job_def("public__ship").execute_in_process(instance=instance)
    assert result.success

    (event,) = result.get_asset_materialization_events()
    seen = json.loads(event.materialization.metadata["seen"].value)
    assert seen == {
        "DB_PASSWORD": digest(VALUES["DB_PASSWORD"]),
        "DB_HOST": digest("from-envs"),
        "TOKEN": digest(VALUES["TOKEN"]),
        "UNUSED": digest(VALUES["UNUSED"]),
    }, "selected keys only, plain envs over secrets, nothing consumed as a file"

    messages = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert any("certs" in m and "not provided" in m for m in messages)
    assert any("4 environment variables provided from secrets" in m for m in messages)
    recorded = [serialize_value(entry) for entry in instance.all_logs(result.run_id)]
    recorded.append(serialize_value(RepositorySnap.from_def(defs.get_repository_def())))
    for value in VALUES.values():
        assert not any(value in text for text in recorded), "a secret value was recorded"


def test_a_secret_missing_at_run_time_fails_the_job_naming_it(home: Path) -> None:
    with Store.open(settings=Settings.from_env()) as store:
        store.delete("instance-secret", "api-token", None, "tester", force=True)
    defs = compile_definitions(
        [CompileInput(workflow())],
        {"container": partial(run_container, secret_env=store_secret_env)},
    )
    result = defs.resolve_job_def("public__ship").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    error = failure.step_failure_data.error
    assert error is not None
    messages = []
    while error is not None:
        messages.append(error.message)
        error = error.cause
    assert any("secret 'api-token'" in m for m in messages)


def test_keys_select_and_all_keys_wins(home: Path) -> None:
    with Store.open(settings=Settings.from_env()) as store:
        some = RuntimeSpec.model_validate(
            {"stack": "python3", "dataosSecrets": [{"name": "shop-db", "key": "DB_USER"}]}
        )
        assert secret_env(store, some, "public") == {"DB_USER": VALUES["DB_USER"]}
        every = RuntimeSpec.model_validate(
            {
                "stack": "python3",
                "dataosSecrets": [{"name": "shop-db", "keys": ["DB_USER"], "allKeys": True}],
            }
        )
        assert set(secret_env(store, every, "public")) == {"DB_USER", "DB_PASSWORD", "DB_HOST"}
        wrong = RuntimeSpec.model_validate(
            {"stack": "python3", "dataosSecrets": [{"name": "shop-db", "keys": ["NOPE"]}]}
        )
        with pytest.raises(SecretNotFound, match="has no key NOPE") as caught:
            secret_env(store, wrong, "public")
        assert not any(value in str(caught.value) for value in VALUES.values())
        elsewhere = RuntimeSpec.model_validate(
            {"stack": "python3", "dataosSecrets": [{"name": "shop-db", "workspace": "other"}]}
        )
        with pytest.raises(SecretNotFound, match="workspace 'other'"):
            secret_env(store, elsewhere, "public")
