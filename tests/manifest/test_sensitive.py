"""Inline credentials are found by key name, references to secrets are not."""

from __future__ import annotations

from dataos_defs.manifest.loader import parse_yaml
from dataos_defs.manifest.sensitive import is_sensitive_key, sensitive_paths
from dataos_defs.manifest.validate import parse_documents

SCANNER = """\
name: scan-pg
version: v1
type: workflow
workflow:
  dag:
    - name: scan
      spec:
        stack: scanner:2.0
        compute: runnable-default
        runAsUser: metis
        runAsApiKey: abcdef123456
        stackSpec:
          type: postgres
          source: pgsource
          sourceConnection:
            config:
              type: Postgres
              username: scanner
              password: hunter2-inline
              hostPort: db:5432
              database: shop
          sourceConfig:
            config:
              type: DatabaseMetadata
"""


def test_key_names() -> None:
    for key in (
        "password",
        "PASSWORD",
        "db-password",
        "apiKey",
        "runAsApiKey",
        "token",
        "awssecretaccesskey",
        "client_secret",
        "credentials",
        "privateKey",
        "dsn",
    ):
        assert is_sensitive_key(key), key
    for key in (
        "secrets",
        "dataosSecrets",
        "imagePullSecret",
        "username",
        "host",
        "tokenizer",
        "passes",
        "keys",
    ):
        assert not is_sensitive_key(key), key


def test_sub_trees_count_once_and_empty_values_are_ignored() -> None:
    data = {"credentials": {"user": "u", "password": "p"}, "password": "", "x": [{"token": "t"}]}
    assert sensitive_paths(data) == [("credentials",), ("x", 0, "token")]


def test_parsed_resource_secret_paths_cover_inline_credentials() -> None:
    documents, issues = parse_yaml(SCANNER, "scan.yaml")
    assert not issues
    (resource,) = parse_documents(documents)
    paths = resource.secret_paths()
    assert ("workflow", "dag", 0, "spec", "runAsApiKey") in paths
    config = ("workflow", "dag", 0, "spec", "stackSpec", "sourceConnection", "config")
    assert (*config, "password") in paths
    assert (*config, "username") not in paths
