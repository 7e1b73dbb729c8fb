"""The `daemon` fixture: one running paper node with its API per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from http_daemon import TOKEN, Daemon, start_daemon


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    yield from start_daemon(tmp_path_factory.mktemp("daemon"), TRADEBUS_API_TOKEN=TOKEN)
