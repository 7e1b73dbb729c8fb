"""Shared test settings: the anyio backend and the hypothesis profile every run uses."""

from __future__ import annotations

import pytest
from hypothesis import settings

settings.register_profile(
    "ci", derandomize=True, deadline=None, database=None, print_blob=True
)
settings.load_profile("ci")


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """Pin anyio tests to asyncio: aiosqlite and the venue clients run on asyncio only."""
    return "asyncio"
