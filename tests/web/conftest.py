"""The web app's tests over HTTP: one real API server (``web_support``) per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.web.web_support import WebPlatform, web_platform


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebPlatform]:
    with web_platform(tmp_path_factory.mktemp("web-home")) as running:
        yield running
