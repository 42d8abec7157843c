"""Minerva's settings from the environment: seconds, refused when not a number or negative."""

from __future__ import annotations

import pytest

from dataos_defs.minerva.settings import MinervaSettings, trino_endpoint


def test_defaults_and_values() -> None:
    assert MinervaSettings.from_env({}) == MinervaSettings(30.0, 1.0)
    found = MinervaSettings.from_env(
        {"DATAOS_MINERVA_PG_TTL_SECONDS": "5", "DATAOS_MINERVA_LAKEHOUSE_CHECK_SECONDS": "0"}
    )
    assert found == MinervaSettings(pg_ttl_seconds=5.0, lakehouse_check_seconds=0.0)


@pytest.mark.parametrize("value", ["soon", "-1"])
def test_bad_values_are_refused_naming_the_variable(value: str) -> None:
    with pytest.raises(ValueError, match="DATAOS_MINERVA_LAKEHOUSE_CHECK_SECONDS"):
        MinervaSettings.from_env({"DATAOS_MINERVA_LAKEHOUSE_CHECK_SECONDS": value})


def test_a_cluster_runs_on_trino_only_when_its_url_is_set() -> None:
    assert trino_endpoint("minervashop", {}) is None
    env = {"DATAOS_MINERVA_MINERVASHOP_URL": "https://gw@trino:8443"}
    assert trino_endpoint("minervashop", env) == ("https://gw@trino:8443", None)
