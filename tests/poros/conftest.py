"""Fixtures for the Poros tests: an open store on each backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store


@pytest.fixture
def settings(tmp_path: Path, store_url: str) -> Settings:
    return Settings(home=tmp_path / "home", database_url=store_url)


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    opened = Store.open(settings=settings)
    yield opened
    opened.close()
