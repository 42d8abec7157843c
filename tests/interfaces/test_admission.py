"""Side doors at apply, tried through the real server as a data developer would.

Each test applies what a user with only ``roles:id:data-dev`` would write to reach data
around Heimdall, and asserts the apply is refused with positioned issues and nothing is
stored; and that the legitimate way (an operator, a granted policy, an allowed run-as)
still works. The example data product (``resources/``) is applied by the operator first,
as ``make up`` does.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from dataos_defs.api.client import ApiFailure, DataosClient
from tests.interfaces.conftest import (
    ROOT,
    Server,
    run_cli,
    start_server,
    stop_server,
    user_key,
    wire,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(server: Server) -> Iterator[dict[str, DataosClient]]:
    """The example applied by the operator; a data developer ``dev``."""
    user_key(server, "shop-pipeline", [], kind="application")
    applied = run_cli(server, "apply", "-f", str(ROOT / "resources"), "-R")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    dev = DataosClient(server.url, api_key=user_key(server, "dev", ["roles:id:data-dev"]))
    operator = DataosClient(server.url, api_key=server.api_key)
    yield {"dev": dev, "operator": operator}
    dev.close()
    operator.close()


def refused(client: DataosClient, text: str, file: str = "m.yaml") -> list[dict[str, object]]:
    with pytest.raises(ApiFailure) as caught:
        client.apply(wire(text, file), None)
    assert caught.value.status == 422, caught.value.error
    issues: list[dict[str, object]] = caught.value.error["issues"]
    assert issues
    return issues


BORROWED_SECRET = """\
name: devpg
version: v2alpha
type: depot
description: the shop database through the operator's read credentials
depot:
  type: POSTGRESQL
  external: true
  postgresql:
    subprotocol: postgresql
    host: 10.0.0.9
    port: 5432
    database: other
  secrets:
    - name: shoppg-r
      keys: [shoppg-r]
"""


def test_a_depot_cannot_borrow_another_owners_secret(world) -> None:
    issues = refused(world["dev"], BORROWED_SECRET, "devpg.yaml")
    assert [(i["file"], i["line"], i["path"]) for i in issues] == [
        ("devpg.yaml", 14, "depot.secrets[0].name")
    ]
    assert "dev may not use poros://instance-secret/shoppg-r" in str(issues[0]["message"])
    with pytest.raises(ApiFailure) as caught:
        world["dev"].get_resource("depot", "devpg", None)
    assert caught.value.status == 404


LEAKING_WORKFLOW = """\
name: leak
version: v1
type: workflow
workflow:
  dag:
    - name: copy
      spec:
        stack: flare:7.0
        stackSpec:
          job:
            inputs:
              - name: customers
                dataset: dataos://shoppg:public/customers?acl=r
                format: jdbc
            outputs:
              - name: customers
                dataset: dataos://lakehouse:shop/leaked?acl=rw
                format: iceberg
"""


def test_a_workflow_reading_what_its_author_may_not_is_refused(server: Server, world) -> None:
    issues = refused(world["dev"], LEAKING_WORKFLOW, "leak.yaml")
    found = {(i["line"], i["path"]): str(i["message"]) for i in issues}
    read_at = (13, "workflow.dag[0].spec.stackSpec.job.inputs[0].dataset")
    write_at = (17, "workflow.dag[0].spec.stackSpec.job.outputs[0].dataset")
    assert set(found) == {read_at, write_at}
    assert "runs as dev, who may not read dataos://shoppg:public/customers" in found[read_at]
    assert "may not write dataos://lakehouse:shop/leaked" in found[write_at]
    hints = {str(i["hint"]) for i in issues}
    assert any("'read' on dataos://shoppg:public/customers" in h for h in hints)
    with pytest.raises(ApiFailure):
        world["dev"].get_resource("workflow", "leak", "public")
    logged = world["operator"].decisions(subject="dev", limit=10_000)
    assert any(
        e["subject"] == "dev"
        and e["predicate"] == "read"
        and e["object"] == "dataos://shoppg:public/customers"
        and e["allow"] is False
        and e["source"] == "admission"
        for e in logged
    ), logged[-5:]


GRANT_DEV = """\
name: dev-sandbox
version: v1
type: policy
description: dev reads the landing files and writes its own lakehouse collection
policy:
  access:
    subjects:
      tags: [[users:id:dev]]
    predicates: [read, write]
    objects:
      paths: ["dataos://landing:**", "dataos://lakehouse:devwork/**"]
    allow: true
"""

ALLOWED_WORKFLOW = """\
name: dev-products
version: v1
type: workflow
workflow:
  dag:
    - name: copy
      spec:
        stack: flare:7.0
        stackSpec:
          job:
            inputs:
              - name: products
                dataset: dataos://landing:none/products?acl=r
                format: csv
              - name: joined
                query: SELECT * FROM landing.none.products
            outputs:
              - name: products
                dataset: dataos://lakehouse:devwork/products?acl=rw
                format: iceberg
"""


def test_a_workflow_its_owner_may_run_is_admitted_as_its_owner(world) -> None:
    world["operator"].apply(wire(GRANT_DEV), None)
    world["dev"].apply(wire(ALLOWED_WORKFLOW), None)
    stored = world["dev"].get_resource("workflow", "dev-products", "public")
    assert (stored["owner"], stored["run_as"]) == ("dev", "dev")


def test_a_query_input_is_authorized_for_every_dataset_it_names(world) -> None:
    text = ALLOWED_WORKFLOW.replace(
        "SELECT * FROM landing.none.products",
        "WITH c AS (SELECT 1) SELECT * FROM landing.none.products JOIN shoppg.public.orders ON true",
    ).replace("dev-products", "dev-sneaky")
    issues = refused(world["dev"], text)
    assert len(issues) == 1
    assert issues[0]["path"] == "workflow.dag[0].spec.stackSpec.job.inputs[1].query"
    assert "may not read dataos://shoppg:public/orders" in str(issues[0]["message"])


def test_a_query_admission_cannot_read_is_refused(world) -> None:
    text = ALLOWED_WORKFLOW.replace(
        "SELECT * FROM landing.none.products", "SELECT FROM WHERE ((("
    ).replace("dev-products", "dev-garbled")
    issues = refused(world["dev"], text)
    assert "cannot be parsed" in str(issues[0]["message"])


def test_running_as_another_user_needs_run_as(world) -> None:
    text = ALLOWED_WORKFLOW.replace(
        "        stack: flare:7.0", "        stack: flare:7.0\n        runAsUser: shop-pipeline"
    ).replace("dev-products", "dev-as-pipeline")
    issues = refused(world["dev"], text)
    assert issues[0]["path"] == "workflow.dag[0].spec.runAsUser"
    assert "dev may not act as 'shop-pipeline'" in str(issues[0]["message"])
    assert "'run-as' on heimdall://user/shop-pipeline" in str(issues[0]["hint"])


def test_the_operator_may_run_a_workflow_as_the_application_user(world) -> None:
    stored = world["operator"].get_resource("workflow", "shop-daily", "public")
    assert (stored["owner"], stored["run_as"]) == ("dataos-operator", "shop-pipeline")


def test_run_as_api_key_runs_as_the_keys_user(server: Server, world) -> None:
    key = user_key(server, "reporter", [])
    grant = GRANT_DEV.replace("dev-sandbox", "reporter-sandbox").replace(
        "users:id:dev", "users:id:reporter"
    )
    world["operator"].apply(wire(grant), None)
    text = (
        ALLOWED_WORKFLOW.replace(
            "        stack: flare:7.0", f"        stack: flare:7.0\n        runAsApiKey: {key}"
        )
        .replace("dev-products", "reporter-products")
        .replace("devwork", "devwork2")
    )
    grant_write = (
        GRANT_DEV.replace("dev-sandbox", "reporter-write")
        .replace("users:id:dev", "users:id:reporter")
        .replace("dataos://lakehouse:devwork/**", "dataos://lakehouse:devwork2/**")
    )
    world["operator"].apply(wire(grant_write), None)
    world["operator"].apply(wire(text), None)
    stored = world["operator"].get_resource("workflow", "reporter-products", "public")
    assert stored["run_as"] == "reporter"
    assert key not in json.dumps(stored)
    bad = text.replace(key, "dok_0000000000000000_nope").replace("reporter-products", "bad-key")
    issues = refused(world["operator"], bad)
    assert issues[0]["path"] == "workflow.dag[0].spec.runAsApiKey"


def test_naming_another_owner_needs_run_as(world) -> None:
    text = BORROWED_SECRET.replace("  secrets:\n    - name: shoppg-r\n      keys: [shoppg-r]\n", "")
    text = text.replace("description:", "owner: dataos-operator\ndescription:", 1)
    issues = refused(world["dev"], text)
    assert issues[0]["path"] == "owner"
    assert "may not act as 'dataos-operator'" in str(issues[0]["message"])


CONTAINER = """\
name: shell
version: v1
type: workflow
workflow:
  dag:
    - name: run
      spec:
        stack: container
        stackSpec:
          image: python:3.11
          command: [python]
          arguments: ["-c", "print(open('/etc/hostname').read())"]
"""


def test_code_stacks_are_a_privilege(world) -> None:
    issues = refused(world["dev"], CONTAINER)
    assert issues[0]["path"] == "workflow.dag[0].spec.stack"
    assert "'use' on poros://stack/container" in str(issues[0]["hint"])
    world["operator"].apply(wire(CONTAINER), None)


def test_a_secret_applied_with_its_depot_is_the_appliers_own(world) -> None:
    own = (
        "name: devsecret\nversion: v1\ntype: instance-secret\ninstance-secret:\n"
        "  type: key-value-properties\n  acl: r\n  data: {username: u, password: p4ssw0rd}\n---\n"
    )
    depot = BORROWED_SECRET.replace("shoppg-r", "devsecret")
    world["dev"].apply(wire(own + depot), None)
    assert world["dev"].get_resource("depot", "devpg", None)["owner"] == "dev"


def _faulty_policies(tmp_path: Path) -> Path:
    """The platform's policies plus a module whose decision conflicts (an evaluation error
    in both engines) only for one dataset."""
    root = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", root)
    (root / "heimdall" / "fault.rego").write_text(
        "package heimdall.access\n\n"
        'decision := {"allow": true, "reason": "injected", "policy": null, "collection": null}'
        ' if {\n\tinput.object.path == "dataos://landing:none/poisoned"\n}\n'
    )
    return root


@pytest.mark.parametrize("engine", ["regorus", "opa"])
def test_admission_fails_closed_when_a_decision_errors(tmp_path: Path, engine: str) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {"DATAOS_POLICIES_ROOT": str(_faulty_policies(tmp_path)), "DATAOS_REGO_ENGINE": engine}
    server = start_server(home, extra_env=env)
    try:
        for part in ("secrets.yaml", "depots.yaml"):
            applied = run_cli(server, "apply", "-f", str(ROOT / "resources" / part))
            assert applied.returncode == 0, applied.stdout + applied.stderr
        with DataosClient(server.url, api_key=server.api_key) as operator:
            fine = ALLOWED_WORKFLOW.replace("dev-products", "fine")
            operator.apply(wire(fine), None)
            poisoned = fine.replace("landing:none/products", "landing:none/poisoned").replace(
                "name: fine", "name: poisoned"
            )
            with pytest.raises(ApiFailure) as caught:
                operator.apply(wire(poisoned), None)
            assert caught.value.status == 503
            assert caught.value.error["code"] == "policy_engine_unavailable"
            with pytest.raises(ApiFailure) as missing:
                operator.get_resource("workflow", "poisoned", "public")
            assert missing.value.status == 404
    finally:
        stop_server(server)


def test_the_cli_prints_every_refusal_with_its_position(server: Server, world, tmp_path) -> None:
    """As a data developer would see it in a terminal: each problem on its own line as
    FILE:LINE:COL: path: message (hint), exit code 1, nothing applied."""
    manifest = tmp_path / "leak.yaml"
    manifest.write_text(LEAKING_WORKFLOW)
    dev_key = user_key(server, "dev-cli", ["roles:id:data-dev"])
    result = run_cli(server, "apply", "-f", str(manifest), DATAOS_API_KEY=dev_key)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith(str(manifest))]
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith(f"{manifest}:13:")
    assert "who may not read dataos://shoppg:public/customers" in lines[0]
    assert lines[1].startswith(f"{manifest}:17:")
    listed = run_cli(server, "get", "-t", "workflow", "-n", "leak", DATAOS_API_KEY=dev_key)
    assert "leak" not in listed.stdout


def test_run_as_decisions_are_logged(server: Server, world) -> None:
    text = ALLOWED_WORKFLOW.replace(
        "        stack: flare:7.0", "        stack: flare:7.0\n        runAsUser: shop-pipeline"
    ).replace("dev-products", "logged-run-as")
    refused(world["dev"], text)
    entries = world["operator"].decisions(subject="dev", limit=10_000)
    assert any(
        e["subject"] == "dev"
        and e["object"] == "heimdall://user/shop-pipeline"
        and e["allow"] is False
        and e["source"] == "admission"
        for e in entries
    ), entries[-3:]


WAREHOUSE_FILES = """\
name: peek
version: v2alpha
type: depot
depot:
  type: FILE
  file:
    path: {path}
    format: parquet
"""


@pytest.mark.parametrize("path", ["warehouse", "data/../warehouse/shop", "/etc"])
def test_a_file_depot_cannot_point_at_the_lakehouse_or_outside_the_roots(
    server: Server, world, path: str
) -> None:
    issues = refused(world["dev"], WAREHOUSE_FILES.format(path=path), "peek.yaml")
    assert [(i["line"], i["path"]) for i in issues] == [(7, "depot.file.path")]
    with pytest.raises(ApiFailure) as caught:
        world["dev"].get_resource("depot", "peek", None)
    assert caught.value.status == 404
