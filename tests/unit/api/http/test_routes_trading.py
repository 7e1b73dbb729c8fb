"""Trading routes over HTTP on a running node: reads, manual orders, cancels, kill switch."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from http_daemon import TOKEN, Daemon, start_daemon

from engine.domain.enums import OrderStatus

INSTRUMENT = "BTC/USDT.SIM"


def market_order(**overrides: Any) -> dict[str, Any]:
    return {"instrument_id": INSTRUMENT, "side": "buy", "quantity": "0.01", **overrides}


def resting_limit_price(daemon: Daemon) -> str:
    """A buy limit 5% under the last price: inside risk's price band, far from filling."""
    last = daemon.on_loop(lambda: daemon.node.graph.cache.last_price(INSTRUMENT))
    return str((Decimal(str(last)) * Decimal("0.95")).quantize(Decimal("0.01")))


def wait_for(client: httpx.Client, path: str, found: Any, *, attempts: int = 200) -> Any:
    """Poll a read route until `found(body)` holds (the paper feed moves in real time)."""
    for _ in range(attempts):
        body = client.get(path).json()
        if found(body):
            return body
        time.sleep(0.02)
    raise AssertionError(f"{path}: never matched; last {body}")


def test_portfolio_reports_balances_equity_and_curve(daemon: Daemon) -> None:
    with daemon.client(token=None) as client:
        body = client.get("/api/v1/portfolio").json()

    assert set(body) >= {"balances", "equity", "realized_pnl", "unrealized_pnl", "fees",
                         "equity_curve"}
    assert "USDT" in body["balances"]
    assert Decimal(body["equity"]) > 0
    assert body["equity_curve"][0]["equity"] == "10000000"


def test_submit_market_order_is_accepted_journaled_and_fills(daemon: Daemon) -> None:
    with daemon.client() as client:
        response = client.post("/api/v1/orders", json=market_order())
        client_order_id = response.json()["order"]["client_order_id"]
        fills = wait_for(client, "/api/v1/fills?strategy_id=manual&limit=1000",
                         lambda b: any(f["client_order_id"] == client_order_id
                                       for f in b["items"]))

    assert response.status_code == 201
    assert response.json()["outcome"] in {"submitted", "accepted", "filled"}
    assert response.json()["order"]["strategy_id"] == "manual"
    assert fills["items"][0]["strategy_id"] == "manual"
    journal = daemon.node.statistics().journal
    assert journal is not None and journal.appended > 0


def test_submit_order_ids_are_unique(daemon: Daemon) -> None:
    with daemon.client() as client:
        ids = [client.post("/api/v1/orders", json=market_order(side=side)).json()
               ["order"]["client_order_id"] for side in ("buy", "sell", "buy", "sell")]

    assert len(set(ids)) == 4


def test_submit_order_over_max_notional_is_denied_by_risk_with_reason(daemon: Daemon) -> None:
    checked = daemon.on_loop(lambda: daemon.node.graph.risk.statistics().commands_denied)

    with daemon.client() as client:
        big = client.post("/api/v1/orders", json=market_order(quantity="500"))
        listed = client.get("/api/v1/orders?status=denied&strategy_id=manual").json()

    assert big.status_code == 200
    assert big.json()["outcome"] == "denied"
    assert big.json()["reason"].startswith("max_order_notional")
    assert big.json()["order"]["client_order_id"] in [o["client_order_id"]
                                                      for o in listed["items"]]
    denied = daemon.on_loop(lambda: daemon.node.graph.risk.statistics().commands_denied)
    assert denied == checked + 1


def test_submit_order_invalid_fields_are_named(daemon: Daemon) -> None:
    cases = [
        (market_order(quantity="lots"), "$.quantity"),
        (market_order(side="up"), "$.side"),
        (market_order(quantity="-1"), "$.quantity"),
        (market_order(quantity="1e40"), "$.quantity"),
        (market_order(order_type="limit"), "$.price"),
        (market_order(order_type="stop_market"), "$.trigger_price"),
        (market_order(order_type="limit_if_touched", price="1"), "$.trigger_price"),
        (market_order(order_type="trailing_stop_market"), "$.trailing_offset"),
        (market_order(order_type="trailing_stop_limit", trailing_offset="5"), "$.limit_offset"),
        (market_order(order_type="trailing_stop_market", trailing_offset="0"),
         "$.trailing_offset"),
        (market_order(order_type="trailing_stop_limit", trailing_offset="5",
                      limit_offset="-1"), "$.limit_offset"),
        (market_order(order_type="trailing_stop_market", trailing_offset="5",
                      trailing_offset_type="percent"), "$.trailing_offset_type"),
        (market_order(trigger_type="sideways"), "$.trigger_type"),
        (market_order(order_type="limit", price="1", time_in_force="gtd"), "$.expire_ns"),
        (market_order(expire_ns=-5), "$.expire_ns"),
        (market_order(instrument_id="DOGE/USDT.SIM"), "$.instrument_id"),
        (market_order(colour="red"), "$"),
        ({"side": "buy", "quantity": "1"}, "$"),
        ([1, 2, 3], "$"),
    ]
    with daemon.client() as client:
        responses = [(client.post("/api/v1/orders", json=body), field) for body, field in cases]

    for response, field in responses:
        assert response.status_code == 422, response.text
        assert response.json()["error"] == "invalid"
        assert response.json()["field"] == field, response.text


def test_submit_trailing_stop_and_gtd_orders_carry_their_terms(daemon: Daemon) -> None:
    expire_ns = daemon.on_loop(lambda: daemon.node.graph.clock.timestamp_ns()) + 3_600 * 10**9
    with daemon.client() as client:
        trailing = client.post("/api/v1/orders", json=market_order(
            side="sell", order_type="trailing_stop_limit", trailing_offset="100",
            trailing_offset_type="ticks", limit_offset="5", trigger_type="last"))
        gtd = client.post("/api/v1/orders", json=market_order(
            order_type="limit", price=resting_limit_price(daemon), time_in_force="gtd",
            expire_ns=expire_ns))

    assert trailing.status_code == 201, trailing.text
    order = trailing.json()["order"]
    assert trailing.json()["outcome"] != "denied", trailing.text
    assert (order["order_type"], order["trailing_offset"], order["trailing_offset_type"],
            order["limit_offset"], order["trigger_type"]) == (
        "trailing_stop_limit", "100", "ticks", "5", "last")
    assert gtd.status_code == 201, gtd.text
    assert gtd.json()["order"]["time_in_force"] == "gtd"
    assert gtd.json()["outcome"] != "denied", gtd.text


def test_submit_order_not_json_is_400(daemon: Daemon) -> None:
    with daemon.client() as client:
        response = client.post("/api/v1/orders", content=b"{not json",
                               headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


def test_submit_order_over_body_limit_is_413(daemon: Daemon) -> None:
    padding = "x" * (daemon.server.config.max_body_bytes + 1)
    with daemon.client() as client:
        response = client.post("/api/v1/orders", json=market_order(note=padding))

    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"


def test_submit_order_streamed_body_over_limit_is_413(daemon: Daemon) -> None:
    limit = daemon.server.config.max_body_bytes

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"instrument_id": "BTC/USDT.SIM", "side": "buy", "quantity": "1", "x": "'
        for _ in range(limit // 1024 + 1):
            yield b"y" * 1024
        yield b'"}'

    with daemon.client() as client:
        response = client.post("/api/v1/orders", content=chunks())

    assert response.status_code == 413


def test_cancel_resting_limit_order_cancels_it(daemon: Daemon) -> None:
    with daemon.client() as client:
        placed = client.post("/api/v1/orders", json=market_order(
            order_type="limit", price=resting_limit_price(daemon))).json()
        client_order_id = placed["order"]["client_order_id"]
        open_before = client.get("/api/v1/orders?open=true&strategy_id=manual").json()
        canceled = client.delete(f"/api/v1/orders/{client_order_id}")
        again = client.delete(f"/api/v1/orders/{client_order_id}")
        one = client.get(f"/api/v1/orders/{client_order_id}").json()

    assert placed["outcome"] == "accepted"
    assert client_order_id in [o["client_order_id"] for o in open_before["items"]]
    assert canceled.status_code == 200
    assert canceled.json()["order"]["status"] in {"canceled", "pending_cancel"}
    assert one["status"] == "canceled"
    assert again.status_code == 409


def test_cancel_unknown_order_is_404(daemon: Daemon) -> None:
    with daemon.client() as client:
        response = client.delete("/api/v1/orders/no-such-order")

    assert response.status_code == 404


def test_cancel_all_manual_orders_leaves_none_open(daemon: Daemon) -> None:
    with daemon.client() as client:
        for _ in range(3):
            client.post("/api/v1/orders", json=market_order(
                order_type="limit", price=resting_limit_price(daemon)))
        response = client.delete("/api/v1/orders?strategy_id=manual")
        remaining = client.get("/api/v1/orders?open=true&strategy_id=manual").json()

    assert response.status_code == 200
    assert len(response.json()["canceled"]) >= 3
    assert remaining["total"] == 0


def test_orders_paginate_with_limit_and_offset(daemon: Daemon) -> None:
    with daemon.client() as client:
        for _ in range(3):
            client.post("/api/v1/orders", json=market_order(quantity="500"))  # denied
        # Only the manual orders: the running strategy may place one between two requests.
        everything = client.get("/api/v1/orders?limit=1000&strategy_id=manual").json()
        first = client.get("/api/v1/orders?limit=2&offset=0&strategy_id=manual").json()
        second = client.get("/api/v1/orders?limit=2&offset=2&strategy_id=manual").json()
        bad = client.get("/api/v1/orders?limit=0")
        bad_status = client.get("/api/v1/orders?status=lost")

    ids = [o["client_order_id"] for o in everything["items"]]
    assert [o["client_order_id"] for o in first["items"] + second["items"]] == ids[:4]
    assert first["total"] == everything["total"] >= 3
    assert bad.status_code == 400 and bad.json()["field"] == "limit"
    assert bad_status.status_code == 400 and bad_status.json()["field"] == "status"


def test_orders_and_fills_page_with_a_stable_cursor(daemon: Daemon) -> None:
    with daemon.client() as client:
        for _ in range(3):
            client.post("/api/v1/orders", json=market_order(quantity="500"))  # denied
        # Only the manual orders: the running strategy may place one between two requests,
        # which would shift `everything` against the pages.
        manual = {"strategy_id": "manual"}
        first = client.get("/api/v1/orders", params={"limit": 2, **manual}).json()
        # An order placed between two pages comes before the first, never inside the next.
        client.post("/api/v1/orders", json=market_order(quantity="500"))
        second = client.get("/api/v1/orders", params={
            "limit": 2, "cursor": first["next_cursor"], **manual}).json()
        everything = client.get("/api/v1/orders", params={"limit": 1000, **manual}).json()
        fills_cursor = client.get("/api/v1/fills", params={"cursor": first["next_cursor"]})
        garbage = client.get("/api/v1/orders", params={"cursor": "not-a-cursor"})
        last = client.get("/api/v1/orders", params={"limit": 1000}).json()

    ids = [o["client_order_id"] for o in everything["items"]]
    paged = [o["client_order_id"] for o in first["items"] + second["items"]]
    assert paged == ids[1:5]
    assert fills_cursor.status_code == 400 and fills_cursor.json()["field"] == "cursor"
    assert garbage.status_code == 400 and garbage.json()["field"] == "cursor"
    assert last["next_cursor"] is None


def test_kill_switch_halts_then_reactivates(daemon: Daemon) -> None:
    with daemon.client() as client:
        halted = client.put("/api/v1/trading-state", json={"state": "HALTED",
                                                           "reason": "test"})
        denied = client.post("/api/v1/orders", json=market_order()).json()
        state = client.get("/api/v1/trading-state").json()
        active = client.put("/api/v1/trading-state", json={"state": "ACTIVE"})
        invalid = client.put("/api/v1/trading-state", json={"state": "PANIC"})

    assert halted.status_code == 200 and halted.json() == {"state": "HALTED"}
    assert denied["outcome"] == "denied" and "halted" in denied["reason"]
    assert state == {"state": "HALTED"}
    assert active.json() == {"state": "ACTIVE"}
    assert invalid.status_code == 422 and invalid.json()["field"] == "$.state"


def test_strategies_list_parameters_and_state(daemon: Daemon) -> None:
    with daemon.client(token=None) as client:
        items = client.get("/api/v1/strategies").json()["items"]

    assert items[0]["id"] == "sma-cross"
    assert items[0]["state"] == "running"
    assert items[0]["parameters"]["fast_period"] == 10
    assert items[0]["class"] == "strategies.sma_cross:SmaCross"


def test_positions_list_is_json(daemon: Daemon) -> None:
    with daemon.client(token=None) as client:
        response = client.get("/api/v1/positions?strategy_id=sma-cross")

    assert response.status_code == 200
    assert all(p["strategy_id"] == "sma-cross" for p in response.json()["items"])


def test_a_retaining_daemon_lists_the_recent_orders_and_fills_with_exact_totals(
    tmp_path: Path,
) -> None:
    settings = {"TRADEBUS_API_TOKEN": TOKEN, "TRADEBUS__RUNTIME__RETENTION__FILLS": "2",
                "TRADEBUS__RUNTIME__RETENTION__CLOSED_ORDERS": "1",
                "TRADEBUS__RUNTIME__RETENTION__LATE_FILL_HORIZON_S": "0"}
    with contextmanager(start_daemon)(tmp_path, **settings) as daemon, daemon.client() as client:
        for _ in range(4):
            client.post("/api/v1/orders", json=market_order())
        wait_for(client, "/api/v1/orders?open=true&strategy_id=manual",
                 lambda body: body["total"] == 0)
        fills = client.get("/api/v1/fills", params={"limit": 1}).json()
        following = client.get("/api/v1/fills", params={"cursor": fills["next_cursor"]}).json()
        orders = client.get("/api/v1/orders", params={"limit": 1000}).json()
        stats = daemon.on_loop(lambda: daemon.node.graph.portfolio.statistics())

    assert stats.fills_applied >= 4 and stats.fills_evicted == stats.fills_applied - 2
    assert fills["total"] == 2 and following["total"] == 2
    assert following["items"][0] != fills["items"][0]  # the older of the two kept
    closed = [o for o in orders["items"] if OrderStatus(o["status"]).is_closed]
    assert len(closed) == 1  # the window: every open order, and one closed
