"""Market data routes on a running node: instruments, the last item, candles.

The node records what it handles (`[runtime] record = true`), so candles come from its
own recording, compared here with the file read directly.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from http_daemon import TOKEN, Daemon, start_daemon

from adapters.data import RecordingSource
from engine.events import Bar

INSTRUMENT = "BTC/USDT.SIM"
MINUTE = 60_000_000_000


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    yield from start_daemon(tmp_path_factory.mktemp("daemon"), TRADEBUS_API_TOKEN=TOKEN,
                            TRADEBUS__RUNTIME__RECORD="true")


def recorded_bars(daemon: Daemon, at_least: int) -> list[Bar]:
    """The bars in the node's recording, once it holds `at_least` (it writes in batches)."""
    path = Path(daemon.node.journal_path).parent / "recording.sqlite"
    bars: list[Bar] = []
    for _ in range(1000):
        if path.exists():
            bars = [item for item in RecordingSource(path) if isinstance(item, Bar)]
            if len(bars) >= at_least:
                return bars
        time.sleep(0.02)
    raise AssertionError(f"the recording holds {len(bars)} bars, not {at_least}")


def as_candle(bar: Bar) -> dict[str, float | int]:
    return {"ts_event": bar.ts_event, "open": bar.open, "high": bar.high, "low": bar.low,
            "close": bar.close, "volume": bar.volume}


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


def test_candles_with_a_limit_only_are_the_latest_recorded_bars(daemon: Daemon) -> None:
    bars = recorded_bars(daemon, 40)
    end = bars[39].ts_event + 1  # what is recorded already: the answer cannot move

    with daemon.client(token=None) as client:
        response = client.get("/api/v1/market/candles", params={
            "instrument_id": INSTRUMENT, "limit": 10, "end": end})

    body = response.json()
    assert response.status_code == 200
    assert body["timeframe"] == body["source_timeframe"] == "1m"
    assert body["items"] == [as_candle(bar) for bar in bars[30:40]]
    assert body["next_cursor"] is None


def test_candles_page_forward_by_cursor_through_a_range(daemon: Daemon) -> None:
    bars = recorded_bars(daemon, 40)
    start, end = bars[3].ts_event, bars[38].ts_event
    pages: list[list[dict[str, float | int]]] = []

    with daemon.client(token=None) as client:
        params: dict[str, str | int] = {"instrument_id": INSTRUMENT, "timeframe": "1m",
                                        "start": start, "end": end, "limit": 10}
        while True:
            body = client.get("/api/v1/market/candles", params=params).json()
            pages.append(body["items"])
            if body["next_cursor"] is None:
                break
            params["cursor"] = body["next_cursor"]

    assert [len(page) for page in pages] == [10, 10, 10, 5]
    assert [c for page in pages for c in page] == [as_candle(bar) for bar in bars[3:38]]


def test_candles_of_a_longer_timeframe_fold_the_recorded_bars(daemon: Daemon) -> None:
    bars = recorded_bars(daemon, 60)
    step = 5 * MINUTE
    windows: dict[int, list[Bar]] = {}
    for bar in bars:
        windows.setdefault(-(-bar.ts_event // step) * step, []).append(bar)
    complete = [end for end, members in windows.items() if members[-1].ts_event == end]
    first, last = complete[1], complete[-2]

    with daemon.client(token=None) as client:
        body = client.get("/api/v1/market/candles", params={
            "instrument_id": INSTRUMENT, "timeframe": "5m", "start": first,
            "end": last + 1, "limit": 1000}).json()

    expected = [{"ts_event": end, "open": members[0].open,
                 "high": max(b.high for b in members), "low": min(b.low for b in members),
                 "close": members[-1].close, "volume": sum(b.volume for b in members)}
                for end, members in windows.items() if first <= end <= last]
    assert len(expected) >= 5
    assert body["timeframe"] == "5m" and body["source_timeframe"] == "1m"
    assert [c["ts_event"] for c in body["items"]] == [c["ts_event"] for c in expected]
    for candle, wanted in zip(body["items"], expected, strict=True):
        assert candle == pytest.approx(wanted)


def test_candles_take_iso_times_as_nanoseconds(daemon: Daemon) -> None:
    bars = recorded_bars(daemon, 10)
    seconds = bars[2].ts_event // 1_000_000_000
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))

    with daemon.client(token=None) as client:
        body = client.get("/api/v1/market/candles", params={
            "instrument_id": INSTRUMENT, "start": iso, "limit": 1}).json()

    assert body["items"] == [as_candle(bars[2])]


@pytest.mark.parametrize(("params", "field"), [
    ({}, "instrument_id"),
    ({"timeframe": "7x"}, "timeframe"),
    ({"timeframe": "90s"}, "timeframe"),
    ({"start": "200", "end": "100"}, "end"),
    ({"start": "yesterday"}, "start"),
    ({"end": "1900-01-01T00:00:00"}, "end"),
    ({"limit": "0"}, "limit"),
    ({"limit": "1001"}, "limit"),
    ({"cursor": "not-a-cursor"}, "cursor"),
])
def test_candles_bad_query_is_400_naming_the_field(daemon: Daemon, params: dict[str, str],
                                                   field: str) -> None:
    query = {"instrument_id": INSTRUMENT, **params} if field != "instrument_id" else params

    with daemon.client(token=None) as client:
        response = client.get("/api/v1/market/candles", params=query)

    assert response.status_code == 400, response.text
    assert response.json()["field"] == field and response.json()["error"] == "bad_request"


def test_candles_of_an_unknown_instrument_is_404(daemon: Daemon) -> None:
    with daemon.client(token=None) as client:
        response = client.get("/api/v1/market/candles", params={"instrument_id": "NOPE.SIM"})

    assert response.status_code == 404 and response.json()["field"] == "instrument_id"
