"""The app's parts without a running node: CORS from config, the guard, error shapes."""

from __future__ import annotations

import importlib.machinery
import sys
import types
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from starlette.responses import PlainTextResponse

from api.compose import build_node, load_daemon_config
from api.http import ApiConfig, create_app
from api.http.auth import Guard
from api.http.errors import ApiError, validation_error
from api.http.schemas import OrderRequest
from engine.config import Secret


def make_client(config: ApiConfig, tmp_path: Path) -> httpx.AsyncClient:
    """The app on a node that has not run (no graph yet), in process."""
    daemon_config, file = load_daemon_config(None)
    node = build_node(daemon_config, file=file, cwd=tmp_path)
    app = create_app(node, config, Secret("t"))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")


async def preflight(client: httpx.AsyncClient, origin: str) -> dict[str, str]:
    response = await client.options("/api/v1/orders", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST"})
    return dict(response.headers)


async def test_cors_by_default_allows_no_origin(tmp_path: Path) -> None:
    async with make_client(ApiConfig(), tmp_path) as client:
        headers = await preflight(client, "http://evil.example")

    assert "access-control-allow-origin" not in headers


async def test_cors_allows_configured_origins_only(tmp_path: Path) -> None:
    config = ApiConfig(cors_origins=["http://ops.example"])

    async with make_client(config, tmp_path) as client:
        allowed = await preflight(client, "http://ops.example")
        refused = await preflight(client, "http://evil.example")

    assert allowed["access-control-allow-origin"] == "http://ops.example"
    assert "access-control-allow-origin" not in refused


async def test_routes_before_the_node_runs_are_503_json(tmp_path: Path) -> None:
    async with make_client(ApiConfig(), tmp_path) as client:
        response = await client.get("/api/v1/orders")

    assert response.status_code == 503
    assert response.json()["error"] == "not_ready"


def test_guard_takes_the_token_from_a_websocket_subprotocol() -> None:
    guard = Guard(Secret("s3cret"))

    assert guard.accepts({"sec-websocket-protocol": "bearer, s3cret"})
    assert not guard.accepts({"sec-websocket-protocol": "bearer, other"})
    assert not guard.accepts({"authorization": "Basic s3cret"})
    assert not Guard(None).accepts({"authorization": "Bearer anything"})


def test_guard_without_token_refuses_writes_with_403() -> None:
    with pytest.raises(ApiError) as refused:
        Guard(None).check_write({"authorization": "Bearer x"})

    assert refused.value.status == 403


def test_validation_error_names_the_field() -> None:
    with pytest.raises(msgspec.ValidationError) as raised:
        msgspec.json.decode(b'{"instrument_id": "A.B", "side": 1, "quantity": "1"}',
                            type=OrderRequest)

    error = validation_error(raised.value)

    assert (error.status, error.field) == (422, "$.side")
    assert error.detail.startswith("field $.side: Expected `str`")


async def test_metrics_module_when_present_is_mounted_at_metrics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[object] = []

    async def exposition(scope: Any, receive: Any, send: Any) -> None:
        await PlainTextResponse("tradebus_up 1\n")(scope, receive, send)

    def metrics_app(node: object) -> Any:
        seen.append(node)
        return exposition

    module = types.ModuleType("api.http.metrics")
    module.__spec__ = importlib.machinery.ModuleSpec("api.http.metrics", loader=None)
    module.metrics_app = metrics_app  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "api.http.metrics", module)

    async with make_client(ApiConfig(), tmp_path) as client:
        response = await client.get("/metrics")

    assert response.text == "tradebus_up 1\n"
    assert len(seen) == 1
