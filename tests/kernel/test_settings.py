"""Loading the kernel settings file: the example loads; every mistake is reported like a
manifest's (file, line, key path, hint), all at once, with the YAML limits of manifests."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataos_defs.kernel.load import MAX_SETTINGS_BYTES, load_settings
from dataos_defs.manifest.errors import ManifestError

from .mapping_support import EXAMPLE_SETTINGS

MINIMAL = """\
cluster:
  name: dataos
  kubernetesVersion: "1.33"
aws:
  region: eu-west-1
  zones: [eu-west-1a, eu-west-1b]
network:
  cidr: 10.40.0.0/16
nodePools:
  system: {machineType: {aws: a, gcp: g, azure: z}, min: 1, max: 2}
  runnable: {machineType: {aws: a, gcp: g, azure: z}, min: 1, max: 2}
  query: {machineType: {aws: a, gcp: g, azure: z}, min: 1, max: 2}
  gpu: {machineType: {aws: a, gcp: g, azure: z}, min: 0, max: 1}
database:
  instanceClass: {aws: a, gcp: g, azure: z}
apiImage: registry.example.com/dataos:1
dagsterChart: {version: 1.13.0, repository: https://dagster-io.github.io/helm}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kernel.yaml"
    path.write_text(text)
    return path


def issues_of(path: Path) -> list[tuple[int, str, str, str | None]]:
    with pytest.raises(ManifestError) as caught:
        load_settings(path)
    return [(i.line, i.path, i.message, i.hint) for i in caught.value.issues]


def test_the_example_settings_load() -> None:
    example = load_settings(EXAMPLE_SETTINGS)
    assert example.cluster.name == "dataos"
    assert example.aws is not None and example.gcp is not None and example.azure is not None
    assert example.nodePools.computes["query-default"].min == 2
    assert example.trino is not None and example.trino.enabled


def test_a_minimal_file_gets_the_defaults(tmp_path: Path) -> None:
    loaded = load_settings(write(tmp_path, MINIMAL))
    assert loaded.gcp is None and loaded.trino is None
    assert loaded.state.backend == "local"
    assert loaded.dns.tls == "none"
    assert loaded.workspaces == []


def test_unknown_and_missing_keys_are_reported_at_their_line_with_a_hint(tmp_path: Path) -> None:
    text = MINIMAL.replace("  region: eu-west-1", "  regoin: eu-west-1").replace(
        "network:\n  cidr: 10.40.0.0/16\n", "network:\n  cidr: 10.40.0.0/16\n  zones: 3\n"
    )
    assert issues_of(write(tmp_path, text)) == [
        (4, "aws.region", "missing required field 'region'", None),
        (5, "aws.regoin", "unknown field 'regoin'", "did you mean 'region'?"),
        (9, "network.zones", "unknown field 'zones'", "allowed here: cidr, podsCidr, servicesCidr"),
    ]


def test_wrong_values_name_their_key_path(tmp_path: Path) -> None:
    text = MINIMAL.replace("min: 0, max: 1", "min: 0, max: 0").replace(
        "name: dataos", "name: Data_OS"
    )
    reported = issues_of(write(tmp_path, text))
    assert [(line, path) for line, path, _, _ in reported] == [
        (2, "cluster.name"),
        (13, "nodePools.gpu.max"),
    ]
    assert "greater than or equal to 1" in reported[1][2]


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    reported = issues_of(write(tmp_path, MINIMAL + "apiImage: other\n"))
    assert reported == [
        (
            18,
            "apiImage",
            "duplicate key 'apiImage' (first defined on line 16)",
            "remove one of them; YAML would silently keep only the last",
        )
    ]


def test_alias_bombs_are_refused_like_in_manifests(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, 9)]
    reported = issues_of(write(tmp_path, "\n".join(lines) + "\n"))
    assert [(line, message) for line, _, message, _ in reported] == [
        (6, "more than 500000 values once aliases are expanded")
    ]


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    reported = issues_of(write(tmp_path, "tags: " + "[" * 200 + "]" * 200 + "\n"))
    assert [message for _, _, message, _ in reported] == [
        "nested deeper than 100 levels (aliases expanded)"
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "holds no YAML document; it must hold exactly one"),
        (MINIMAL + "---\n" + MINIMAL, "holds 2 YAML documents; it must hold exactly one"),
        ("- a\n- b\n", "settings must be a mapping, not list"),
        ("cluster: [\n", "YAML syntax error"),
    ],
)
def test_a_file_that_is_not_one_mapping_is_an_error(
    tmp_path: Path, text: str, message: str
) -> None:
    reported = issues_of(write(tmp_path, text))
    assert len(reported) == 1 and message in reported[0][2]


def test_a_missing_or_oversized_file_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as caught:
        load_settings(tmp_path / "nope.yaml")
    assert str(caught.value).startswith(f"{tmp_path / 'nope.yaml'}:1:1: <document>: no such file")
    big = write(tmp_path, "tags:\n" + "  k: v\n" * (MAX_SETTINGS_BYTES // 6))
    with pytest.raises(ManifestError, match=f"at most {MAX_SETTINGS_BYTES}"):
        load_settings(big)
