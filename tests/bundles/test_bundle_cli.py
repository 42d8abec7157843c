"""``dataos-ctl`` with Bundles: lint errors at file:line, ``file:`` members read relative to
the bundle, progress printed per member as the server applies them, exit codes, delete."""

from __future__ import annotations

from pathlib import Path

from bundle_texts import CYCLE, DEPOT, NEVER, SERVICE_AND_WORKER

from tests.bundles.conftest import Platform

FILES = """\
name: files
version: v1beta
type: bundle
bundle:
  resources:
    - id: creds
      file: parts/secret.yaml
    - id: db
      file: parts/depot.yaml
      dependencies: [creds]
"""
SECRET_PART = """\
name: files-sec
version: v1
type: instance-secret
instance-secret: {type: key-value, acl: r, data: {k: v}}
"""


def test_a_cycle_and_an_unknown_id_are_lint_errors_with_file_and_line(
    platform: Platform, tmp_path: Path
) -> None:
    path = tmp_path / "bundle.yaml"
    path.write_text(CYCLE)
    done = platform.cli("apply", "-l", "-f", str(path))
    assert done.returncode == 1
    assert (
        f"{path}:6:7: bundle.resources[0].id: resources depend on each other in a cycle: "
        "a -> b -> a"
    ) in " ".join(done.stderr.split())
    assert f"{path}:11:25" in done.stderr
    assert "unknown resource id 'ghost'" in done.stderr
    assert platform.get("bundle", "loop").status_code == 404


def test_a_runtime_condition_on_a_resource_without_runtime_is_a_lint_error(
    platform: Platform, tmp_path: Path
) -> None:
    text = NEVER.format(name="rt").replace("status: {is: [error]}", "runtime: {is: [running]}")
    path = tmp_path / "bundle.yaml"
    path.write_text(text)
    done = platform.cli("apply", "-l", "-f", str(path))
    assert done.returncode == 1
    flat = " ".join(done.stderr.split())
    assert "bundle.resources[1].dependencyConditions[0].runtime" in flat
    assert "'creds' is a instance-secret, which has no runtime" in flat


def test_member_files_are_read_relative_to_the_bundle(platform: Platform, tmp_path: Path) -> None:
    folder = tmp_path / "product"
    (folder / "parts").mkdir(parents=True)
    (folder / "bundle.yaml").write_text(FILES)
    (folder / "parts/secret.yaml").write_text(SECRET_PART)
    (folder / "parts/depot.yaml").write_text(DEPOT.format(name="filesdb", secret="files-sec"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    printed = platform.cli("apply", "-d", "-f", str(folder / "bundle.yaml"), cwd=elsewhere)
    assert printed.returncode == 0, printed.stderr
    assert "file:" not in printed.stdout
    assert "name: files-sec" in printed.stdout

    linted = platform.cli("apply", "-l", "-f", str(folder / "bundle.yaml"), cwd=elsewhere)
    assert linted.returncode == 0, linted.stderr
    assert "files:v1beta:bundle...valid" in linted.stdout
    assert platform.get("bundle", "files").status_code == 404

    applied = platform.cli("apply", "-f", str(folder / "bundle.yaml"), cwd=elsewhere)
    assert applied.returncode == 0, applied.stderr
    assert "applying filesdb:depot...created (bundle files: db)" in applied.stdout
    assert "bundle files...active" in applied.stdout
    assert platform.get("depot", "filesdb").json()["manifest"]["depot"]["type"] == "POSTGRESQL"


def test_a_bad_member_file_is_reported_at_its_own_line(platform: Platform, tmp_path: Path) -> None:
    (tmp_path / "parts").mkdir()
    (tmp_path / "bundle.yaml").write_text(FILES)
    (tmp_path / "parts/secret.yaml").write_text(SECRET_PART.replace("acl: r", "acl: rx"))
    done = platform.cli("apply", "-l", "-f", str(tmp_path / "bundle.yaml"))
    assert done.returncode == 1
    flat = " ".join(done.stderr.split())
    assert f"{tmp_path / 'parts/secret.yaml'}:4:" in flat
    assert f"{tmp_path / 'bundle.yaml'}:9:" in flat  # parts/depot.yaml is missing
    assert "resource file 'parts/depot.yaml' not found" in flat


def test_apply_prints_progress_and_delete_goes_in_reverse(
    platform: Platform, tmp_path: Path
) -> None:
    platform.workloads.ready[("service", "team-e", "api")] = 1
    path = tmp_path / "bundle.yaml"
    path.write_text(SERVICE_AND_WORKER.format(name="cli", ws="team-e", timeout="30s"))
    done = platform.cli("apply", "-f", str(path))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines == [
        "applying cli:v1beta:bundle...created",
        "applying cli-sec:instance-secret...created (bundle cli: creds)",
        "applying clidb:depot...created (bundle cli: db)",
        "applying(team-e) api:service...created (bundle cli: api)",
        "applying(team-e) pump:worker...created (bundle cli: pump)",
        "bundle cli...active",
    ]

    again = platform.cli("apply", "-f", str(path))
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == [
        "applying cli:v1beta:bundle...unchanged",
        "bundle cli...active",
    ]

    deleted = platform.cli("delete", "-t", "bundle", "-n", "cli")
    assert deleted.returncode == 0, deleted.stderr
    assert deleted.stdout.splitlines() == [
        "deleting(team-e) pump:worker...deleted",
        "deleting(team-e) api:service...deleted",
        "deleting clidb:depot...deleted",
        "deleting cli-sec:instance-secret...deleted",
        "deleting cli:bundle...deleted",
        "deleting workspace team-e...deleted",
    ]


def test_a_timeout_exits_non_zero_naming_member_condition_and_observation(
    platform: Platform, tmp_path: Path
) -> None:
    path = tmp_path / "bundle.yaml"
    path.write_text(NEVER.format(name="late"))
    done = platform.cli("apply", "-f", str(path))
    assert done.returncode == 1
    flat = " ".join(done.stderr.split())
    assert (
        "error: bundle late: member later (instance-secret 'late-later') timed out after 1 s "
        "waiting on creds: status is [error] (observed active)"
    ) in flat


def test_delete_f_deletes_a_bundle_with_its_members(platform: Platform, tmp_path: Path) -> None:
    path = tmp_path / "bundle.yaml"
    path.write_text(NEVER.format(name="byfile").replace("[error]", "[active]"))
    assert platform.cli("apply", "-f", str(path)).returncode == 0
    done = platform.cli("delete", "-f", str(path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "deleting byfile-later:instance-secret...deleted",
        "deleting byfile-sec:instance-secret...deleted",
        "deleting byfile:bundle...deleted",
    ]
