"""Topic and endpoint builders: lower-case dotted strings, safe segments, one shape each."""

from __future__ import annotations

import pytest

from engine.topics import (
    ALL_DATA,
    ALL_EVENTS,
    ALL_ORDER_EVENTS,
    account_topic,
    bars_topic,
    instrument_topic,
    matches,
    order_topic,
    position_topic,
    quotes_topic,
    segment,
    system_topic,
    trades_topic,
    venue_endpoint,
)


def test_bars_topic_instrument_and_timeframe_builds_venue_then_symbol() -> None:
    assert bars_topic("BTC/USDT.SIM", "1m") == "data.bars.sim.btc/usdt.1m"


def test_data_topics_instrument_id_with_dotted_symbol_keeps_one_segment() -> None:
    topic = trades_topic("BRK.B.NYSE")
    assert topic == "data.trades.nyse.brk_b"
    assert len(topic.split(".")) == 4
    assert quotes_topic("EUR/USD.IDEALPRO") == "data.quotes.idealpro.eur/usd"
    assert instrument_topic("AAPL.NASDAQ") == "data.instruments.nasdaq.aapl"


def test_event_and_system_topics_build_expected_strings() -> None:
    assert order_topic("SMA-Cross") == "events.order.sma-cross"
    assert position_topic("s1") == "events.position.s1"
    assert account_topic("Main") == "events.account.main"
    assert system_topic("Actor") == "system.actor"
    assert venue_endpoint("SIM") == "venue.sim.execute"


def test_segment_wildcards_and_dots_become_underscores() -> None:
    assert segment("a.b*c#d") == "a_b_c_d"


def test_segment_empty_raises() -> None:
    with pytest.raises(ValueError, match="must not be empty"):
        segment("")


def test_instrument_topic_without_venue_raises() -> None:
    with pytest.raises(ValueError, match="expected SYMBOL.VENUE"):
        bars_topic("BTCUSDT", "1m")


def test_built_topics_match_their_family_wildcards() -> None:
    assert matches(ALL_DATA, bars_topic("BTC/USDT.SIM", "1m"))
    assert matches(ALL_ORDER_EVENTS, order_topic("s1"))
    assert matches(ALL_EVENTS, position_topic("s1"))
    assert not matches(ALL_ORDER_EVENTS, position_topic("s1"))
    assert not matches(ALL_EVENTS, system_topic("actor"))
