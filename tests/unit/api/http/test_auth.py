"""The token on every mutating route and the WebSocket: missing, wrong, right; none set."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets.sync.client
from http_daemon import TOKEN, Daemon, start_daemon
from websockets.exceptions import InvalidStatus

from api.compose import build_node, load_daemon_config
from api.http import ApiConfig
from api.http.auth import Guard
from api.http.errors import ApiError
from engine.config import Secret
from engine.errors import ConfigError

MUTATING: list[tuple[str, str, Any]] = [
    ("POST", "/api/v1/orders", {"instrument_id": "BTC/USDT.SIM", "side": "buy",
                                "quantity": "500"}),
    ("DELETE", "/api/v1/orders", None),
    ("DELETE", "/api/v1/orders/unknown-id", None),
    ("PUT", "/api/v1/trading-state", {"state": "ACTIVE"}),
]
IDS = [f"{method} {path}" for method, path, _ in MUTATING]


def call(client: httpx.Client, method: str, path: str, body: Any) -> httpx.Response:
    return client.request(method, path, json=body)


@pytest.mark.parametrize(("method", "path", "body"), MUTATING, ids=IDS)
def test_mutating_route_without_token_is_401(
    daemon: Daemon, method: str, path: str, body: Any
) -> None:
    with daemon.client(token=None) as client:
        response = call(client, method, path, body)

    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path", "body"), MUTATING, ids=IDS)
def test_mutating_route_with_wrong_token_is_401(
    daemon: Daemon, method: str, path: str, body: Any
) -> None:
    with daemon.client(token="not-" + TOKEN) as client:
        response = call(client, method, path, body)

    assert response.status_code == 401
    assert TOKEN not in response.text


@pytest.mark.parametrize(("method", "path", "body"), MUTATING, ids=IDS)
def test_mutating_route_with_right_token_is_handled(
    daemon: Daemon, method: str, path: str, body: Any
) -> None:
    with daemon.client() as client:
        response = call(client, method, path, body)

    # handled: 200/201, or 404 for the unknown order id (past the token check)
    assert response.status_code in {200, 201, 404}
    assert response.json().get("error") != "unauthorized"


def test_websocket_without_or_with_wrong_token_is_refused(daemon: Daemon) -> None:
    url = daemon.url.replace("http", "ws") + "/ws/events"
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        with pytest.raises(InvalidStatus) as refused:
            websockets.sync.client.connect(url, additional_headers=headers, open_timeout=5)
        assert refused.value.response.status_code == 403


@pytest.fixture(scope="module")
def tokenless(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    yield from start_daemon(tmp_path_factory.mktemp("tokenless"))


@pytest.mark.parametrize(("method", "path", "body"), MUTATING, ids=IDS)
def test_mutating_route_with_no_token_configured_is_403(
    tokenless: Daemon, method: str, path: str, body: Any
) -> None:
    with tokenless.client(token="anything") as client:
        response = call(client, method, path, body)
        reads = client.get("/api/v1/orders")

    assert response.status_code == 403
    assert "TRADEBUS_API_TOKEN" in response.json()["detail"]
    assert reads.status_code == 200  # read-only routes stay open on loopback


def test_read_routes_when_configured_need_the_token() -> None:
    guard = Guard(Secret(TOKEN), read_requires_token=True)

    guard.check_read({"authorization": f"Bearer {TOKEN}"})
    with pytest.raises(ApiError) as missing:
        guard.check_read({})

    assert missing.value.status == 401


def test_build_node_beyond_loopback_without_token_is_a_config_error(tmp_path: Path) -> None:
    environ = {"TRADEBUS__API__HOST": "0.0.0.0"}
    config, file = load_daemon_config(None, environ=environ)

    with pytest.raises(ConfigError) as error:
        build_node(config, file=file, cwd=tmp_path, environ=environ)
    node = build_node(config, file=file, cwd=tmp_path,
                      environ={**environ, "TRADEBUS_API_TOKEN": TOKEN})

    assert error.value.path == "$.api.host"
    assert "TRADEBUS_API_TOKEN" in str(error.value)
    assert len(node.services) == 1


def test_api_config_defaults_are_loopback_closed_and_without_cors() -> None:
    config = ApiConfig()

    assert (config.host, config.port, config.is_loopback) == ("127.0.0.1", 8000, True)
    assert config.cors_origins == []
    assert config.read_requires_token is False
