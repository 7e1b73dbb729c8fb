"""Market data routes on a running node: instruments and the last item per instrument."""

from __future__ import annotations

import time

from http_daemon import Daemon

INSTRUMENT = "BTC/USDT.SIM"


def test_instruments_lists_the_node_instruments(daemon: Daemon) -> None:
    with daemon.client(token=None) as client:
        items = client.get("/api/v1/instruments").json()["items"]

    assert INSTRUMENT in [item["instrument_id"] for item in items]


def test_latest_gives_the_cache_last_bar_and_price(daemon: Daemon) -> None:
    with daemon.client(token=None) as client:
        for _ in range(500):  # the paper feed's first bar
            body = client.get("/api/v1/market/latest", params={"instrument_id": INSTRUMENT})
            if body.json()["items"][0]["last_price"] is not None:
                break
            time.sleep(0.01)

    item = body.json()["items"][0]
    assert body.status_code == 200 and item["instrument_id"] == INSTRUMENT
    assert item["kind"] == "bar" and item["bar"]["close"] == item["last_price"]
    assert item["bar"]["bar_type"]["instrument_id"] == INSTRUMENT


def test_latest_unknown_instrument_is_404_naming_it(daemon: Daemon) -> None:
    with daemon.client(token=None) as client:
        response = client.get("/api/v1/market/latest", params={"instrument_id": "NOPE.SIM"})

    assert response.status_code == 404 and response.json()["field"] == "instrument_id"
