"""Shared fixtures. Keep this small: each fixture here is used by several test modules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cors_server import CorsServer


@pytest.fixture
def cors_server() -> Iterator[CorsServer]:
    """A scriptable raw HTTP server on 127.0.0.1 (tests/cors_server.py), always shut down."""
    with CorsServer() as server:
        yield server
