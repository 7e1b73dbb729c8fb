"""The OpenAPI schema from the request Structs, the docs page, and a fuzz of the routes.

The fuzz sends hypothesis-made bodies (valid-shaped OrderRequests, arbitrary JSON,
raw bytes) and query strings to the running server; every answer must be a JSON 4xx
or a 2xx, never a 500, and every request must finish (a client timeout fails it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import orjson
import pytest
from http_daemon import Daemon
from hypothesis import HealthCheck, given, settings, strategies as st

from api.http.schemas import OrderRequest, TradingStateRequest

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
NUMBERS = st.one_of(st.decimals(allow_nan=True, allow_infinity=True).map(str),
                    st.integers(), st.floats(), st.text(max_size=12))
ORDER_BODIES = st.fixed_dictionaries(
    {"instrument_id": st.sampled_from(["BTC/USDT.SIM", "", "X.Y", "BTC/USDT.SIM" * 20]),
     "side": st.sampled_from(["buy", "sell", "hold"]),
     "quantity": NUMBERS},
    optional={"order_type": st.sampled_from(["market", "limit", "stop_market",
                                             "stop_limit", "iceberg"]),
              "price": NUMBERS | st.none(), "trigger_price": NUMBERS | st.none(),
              "time_in_force": st.sampled_from(["gtc", "ioc", "fok", "gtd", "day"]),
              "reduce_only": st.booleans() | JSON, "post_only": st.booleans()},
)
QUERY = st.dictionaries(st.sampled_from(["limit", "offset", "status", "open", "strategy_id",
                                         "instrument_id"]),
                        st.text(max_size=12), max_size=4)


@pytest.fixture(scope="module")
def client(daemon: Daemon) -> Iterator[httpx.Client]:
    with daemon.client() as http:
        http.put("/api/v1/trading-state", json={"state": "HALTED"})  # fuzzed orders: denied
        yield http
        http.put("/api/v1/trading-state", json={"state": "ACTIVE"})


def check(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        body = orjson.loads(response.content)
        assert set(body) >= {"error", "detail"}


def test_openapi_schema_has_the_request_structs_and_routes(daemon: Daemon) -> None:
    with daemon.client(token=None) as http:
        schema = http.get("/openapi.json").json()

    components = schema["components"]["schemas"]
    assert set(components["OrderRequest"]["properties"]) == set(OrderRequest.__struct_fields__)
    assert components["OrderRequest"]["required"] == ["instrument_id", "side", "quantity"]
    assert set(components["TradingStateRequest"]["properties"]) == set(
        TradingStateRequest.__struct_fields__)
    post = schema["paths"]["/api/v1/orders"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/OrderRequest"}
    assert post["security"] == [{"bearer": []}]
    assert "security" not in schema["paths"]["/api/v1/orders"]["get"]


def test_docs_page_lists_routes_without_external_assets(daemon: Daemon) -> None:
    with daemon.client(token=None) as http:
        page = http.get("/docs")

    assert page.status_code == 200
    assert "/api/v1/trading-state" in page.text
    assert "http://" not in page.text and "https://" not in page.text


@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=ORDER_BODIES | JSON)
def test_fuzz_submit_order_never_500(client: httpx.Client, body: Any) -> None:
    check(client.post("/api/v1/orders", content=json.dumps(body).encode()))


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=200) | JSON.map(lambda value: json.dumps(value).encode()))
def test_fuzz_trading_state_never_500(client: httpx.Client, body: bytes) -> None:
    check(client.put("/api/v1/trading-state", content=body))


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(["/api/v1/orders", "/api/v1/fills", "/api/v1/positions"]),
       query=QUERY)
def test_fuzz_read_queries_never_500(client: httpx.Client, path: str,
                                     query: dict[str, str]) -> None:
    check(client.get(path, params=query))


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order_id=st.text(min_size=1, max_size=80))
def test_fuzz_order_ids_never_500(client: httpx.Client, order_id: str) -> None:
    check(client.get(f"/api/v1/orders/{quote(order_id, safe='')}"))
    check(client.delete(f"/api/v1/orders/{quote(order_id, safe='')}"))


def test_openapi_schema_lists_the_candles_route_and_its_parameters(daemon: Daemon) -> None:
    with daemon.client(token=None) as http:
        operation = http.get("/openapi.json").json()["paths"]["/api/v1/market/candles"]["get"]

    parameters = {p["name"]: p for p in operation["parameters"]}
    assert set(parameters) == {"instrument_id", "timeframe", "start", "end", "limit", "cursor"}
    assert parameters["instrument_id"]["required"] is True
    assert "security" not in operation


CANDLE_QUERY = st.dictionaries(
    st.sampled_from(["instrument_id", "timeframe", "start", "end", "limit", "cursor"]),
    st.sampled_from(["BTC/USDT.SIM", "1m", "5m", "0", "2024-01-01", "-1", "9" * 30]) |
    st.text(max_size=16), max_size=6)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=CANDLE_QUERY)
def test_fuzz_candle_queries_never_500(client: httpx.Client, query: dict[str, str]) -> None:
    check(client.get("/api/v1/market/candles", params=query))
