"""Fixtures of the Metis tests: one real API server per module (see ``metis_helpers``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.metis.access_world import world  # noqa: F401 (a fixture of the folder)
from tests.metis.metis_helpers import interfaces


@pytest.fixture(scope="module")
def metis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    helpers = interfaces()
    server = helpers.start_server(tmp_path_factory.mktemp("metis-home"))
    yield server
    helpers.stop_server(server)
