"""The simulated venue's price rules, as tables: every order type x gap / intrabar / no touch."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.sim.matching import (
    Match,
    OrderTerms,
    fill_quantity,
    market_item,
    match_bar,
    match_quote,
    match_trade,
    volume_capacity,
)
from engine.domain.enums import LiquiditySide, OrderSide, OrderType
from engine.events.market import Bar, BarType, Instrument, QuoteTick, TradeTick

BUY = OrderSide.BUY
SELL = OrderSide.SELL
MARKET = OrderType.MARKET
LIMIT = OrderType.LIMIT
STOP = OrderType.STOP_MARKET
STOP_LIMIT = OrderType.STOP_LIMIT
MIT = OrderType.MARKET_IF_TOUCHED
LIT = OrderType.LIMIT_IF_TOUCHED
MAKER = LiquiditySide.MAKER
TAKER = LiquiditySide.TAKER
D = Decimal


def terms(
    side: OrderSide,
    order_type: OrderType,
    price: str | None = None,
    trigger: str | None = None,
    *,
    triggered: bool = False,
    post_only: bool = False,
) -> OrderTerms:
    return OrderTerms(
        side=side,
        order_type=order_type,
        price=None if price is None else D(price),
        trigger_price=None if trigger is None else D(trigger),
        triggered=triggered,
        post_only=post_only,
    )


def fill(
    price: str, side: LiquiditySide = TAKER, *, at_open: bool, triggered: bool = False
) -> Match:
    return Match(price=D(price), liquidity_side=side, at_open=at_open, triggered=triggered)


# A bar opening at 100, trading 90..110.
BAR_CASES = [
    # market
    ("market buy", terms(BUY, MARKET), fill("100", at_open=True)),
    ("market sell", terms(SELL, MARKET), fill("100", at_open=True)),
    # limit
    ("limit buy gap", terms(BUY, LIMIT, "105"), fill("100", at_open=True)),
    ("limit buy at open", terms(BUY, LIMIT, "100"), fill("100", at_open=True)),
    ("limit buy intrabar", terms(BUY, LIMIT, "95"), fill("95", MAKER, at_open=False)),
    ("limit buy at low", terms(BUY, LIMIT, "90"), fill("90", MAKER, at_open=False)),
    ("limit buy no touch", terms(BUY, LIMIT, "89.99"), None),
    ("limit sell gap", terms(SELL, LIMIT, "95"), fill("100", at_open=True)),
    ("limit sell intrabar", terms(SELL, LIMIT, "105"), fill("105", MAKER, at_open=False)),
    ("limit sell at high", terms(SELL, LIMIT, "110"), fill("110", MAKER, at_open=False)),
    ("limit sell no touch", terms(SELL, LIMIT, "110.01"), None),
    # post-only limit: as a limit, but never a taker
    ("post-only buy gap", terms(BUY, LIMIT, "105", post_only=True),
     fill("100", MAKER, at_open=True)),
    ("post-only buy intrabar", terms(BUY, LIMIT, "95", post_only=True),
     fill("95", MAKER, at_open=False)),
    ("post-only buy no touch", terms(BUY, LIMIT, "85", post_only=True), None),
    ("post-only sell gap", terms(SELL, LIMIT, "95", post_only=True),
     fill("100", MAKER, at_open=True)),
    ("post-only sell intrabar", terms(SELL, LIMIT, "105", post_only=True),
     fill("105", MAKER, at_open=False)),
    ("post-only sell no touch", terms(SELL, LIMIT, "115", post_only=True), None),
    # stop-market
    ("stop buy gap", terms(BUY, STOP, trigger="95"), fill("100", at_open=True, triggered=True)),
    ("stop buy at open", terms(BUY, STOP, trigger="100"),
     fill("100", at_open=True, triggered=True)),
    ("stop buy intrabar", terms(BUY, STOP, trigger="105"),
     fill("105", at_open=False, triggered=True)),
    ("stop buy no touch", terms(BUY, STOP, trigger="110.01"), None),
    ("stop sell gap", terms(SELL, STOP, trigger="105"), fill("100", at_open=True, triggered=True)),
    ("stop sell intrabar", terms(SELL, STOP, trigger="95"),
     fill("95", at_open=False, triggered=True)),
    ("stop sell no touch", terms(SELL, STOP, trigger="89.99"), None),
    ("stop buy triggered earlier", terms(BUY, STOP, trigger="120", triggered=True),
     fill("100", at_open=True)),
    # stop-limit: triggers, fills on the trigger bar only if marketable at the trigger price
    ("stop-limit buy gap marketable", terms(BUY, STOP_LIMIT, "102", "95"),
     fill("100", at_open=True, triggered=True)),
    ("stop-limit buy gap not marketable", terms(BUY, STOP_LIMIT, "98", "95"),
     Match(at_open=True, triggered=True)),
    ("stop-limit buy intrabar marketable", terms(BUY, STOP_LIMIT, "106", "105"),
     fill("105", at_open=False, triggered=True)),
    ("stop-limit buy intrabar at limit", terms(BUY, STOP_LIMIT, "105", "105"),
     fill("105", at_open=False, triggered=True)),
    ("stop-limit buy intrabar not marketable", terms(BUY, STOP_LIMIT, "104", "105"),
     Match(at_open=False, triggered=True)),
    ("stop-limit buy no touch", terms(BUY, STOP_LIMIT, "120", "115"), None),
    ("stop-limit sell gap marketable", terms(SELL, STOP_LIMIT, "98", "105"),
     fill("100", at_open=True, triggered=True)),
    ("stop-limit sell gap not marketable", terms(SELL, STOP_LIMIT, "102", "105"),
     Match(at_open=True, triggered=True)),
    ("stop-limit sell intrabar marketable", terms(SELL, STOP_LIMIT, "94", "95"),
     fill("95", at_open=False, triggered=True)),
    ("stop-limit sell intrabar not marketable", terms(SELL, STOP_LIMIT, "96", "95"),
     Match(at_open=False, triggered=True)),
    ("stop-limit sell no touch", terms(SELL, STOP_LIMIT, "80", "85"), None),
    ("stop-limit post-only trigger bar", terms(BUY, STOP_LIMIT, "106", "105", post_only=True),
     Match(at_open=False, triggered=True)),
    # triggered stop-limit: a plain limit
    ("stop-limit buy triggered intrabar", terms(BUY, STOP_LIMIT, "95", "200", triggered=True),
     fill("95", MAKER, at_open=False)),
    ("stop-limit buy triggered gap", terms(BUY, STOP_LIMIT, "105", "200", triggered=True),
     fill("100", at_open=True)),
    ("stop-limit buy triggered no touch", terms(BUY, STOP_LIMIT, "85", "200", triggered=True),
     None),
    ("stop-limit sell triggered intrabar", terms(SELL, STOP_LIMIT, "105", "1", triggered=True),
     fill("105", MAKER, at_open=False)),
    # market-if-touched: the mirror of a stop (a buy triggers as the price falls)
    ("mit buy gap", terms(BUY, MIT, trigger="105"), fill("100", at_open=True, triggered=True)),
    ("mit buy intrabar", terms(BUY, MIT, trigger="95"),
     fill("95", at_open=False, triggered=True)),
    ("mit buy at low", terms(BUY, MIT, trigger="90"), fill("90", at_open=False, triggered=True)),
    ("mit buy no touch", terms(BUY, MIT, trigger="89.99"), None),
    ("mit sell gap", terms(SELL, MIT, trigger="95"), fill("100", at_open=True, triggered=True)),
    ("mit sell intrabar", terms(SELL, MIT, trigger="105"),
     fill("105", at_open=False, triggered=True)),
    ("mit sell no touch", terms(SELL, MIT, trigger="110.01"), None),
    ("mit buy triggered earlier", terms(BUY, MIT, trigger="50", triggered=True),
     fill("100", at_open=True)),
    # limit-if-touched: triggers as a market-if-touched, fills as a stop-limit
    ("lit buy intrabar marketable", terms(BUY, LIT, "95.5", "95"),
     fill("95", at_open=False, triggered=True)),
    ("lit buy intrabar not marketable", terms(BUY, LIT, "94", "95"),
     Match(at_open=False, triggered=True)),
    ("lit buy gap marketable", terms(BUY, LIT, "101", "105"),
     fill("100", at_open=True, triggered=True)),
    ("lit buy gap not marketable", terms(BUY, LIT, "99", "105"),
     Match(at_open=True, triggered=True)),
    ("lit sell intrabar marketable", terms(SELL, LIT, "104", "105"),
     fill("105", at_open=False, triggered=True)),
    ("lit sell no touch", terms(SELL, LIT, "111", "111"), None),
    ("lit sell triggered: a plain limit", terms(SELL, LIT, "105", "1", triggered=True),
     fill("105", MAKER, at_open=False)),
]


@pytest.mark.parametrize(("order", "expected"), [c[1:] for c in BAR_CASES],
                         ids=[c[0] for c in BAR_CASES])
def test_match_bar_open_100_range_90_110_follows_the_table(
    order: OrderTerms, expected: Match | None
) -> None:
    result = match_bar(order, D("100"), D("110"), D("90"))

    assert result == expected


# A trade printing at 100.
TRADE_CASES = [
    ("market buy", terms(BUY, MARKET), fill("100", at_open=True)),
    ("market sell", terms(SELL, MARKET), fill("100", at_open=True)),
    ("limit buy through", terms(BUY, LIMIT, "101"), fill("101", MAKER, at_open=True)),
    ("limit buy at", terms(BUY, LIMIT, "100"), fill("100", MAKER, at_open=True)),
    ("limit buy no touch", terms(BUY, LIMIT, "99"), None),
    ("limit sell through", terms(SELL, LIMIT, "99"), fill("99", MAKER, at_open=True)),
    ("limit sell no touch", terms(SELL, LIMIT, "101"), None),
    ("stop buy through", terms(BUY, STOP, trigger="99"), fill("100", at_open=True, triggered=True)),
    ("stop buy no touch", terms(BUY, STOP, trigger="101"), None),
    ("stop sell through", terms(SELL, STOP, trigger="101"),
     fill("100", at_open=True, triggered=True)),
    ("stop sell no touch", terms(SELL, STOP, trigger="99"), None),
    ("stop-limit buy marketable", terms(BUY, STOP_LIMIT, "101", "99"),
     fill("100", at_open=True, triggered=True)),
    ("stop-limit buy not marketable", terms(BUY, STOP_LIMIT, "99", "99"),
     Match(at_open=True, triggered=True)),
    ("stop-limit buy no touch", terms(BUY, STOP_LIMIT, "102", "101"), None),
    ("stop-limit buy triggered", terms(BUY, STOP_LIMIT, "101", "150", triggered=True),
     fill("101", MAKER, at_open=True)),
]


@pytest.mark.parametrize(("order", "expected"), [c[1:] for c in TRADE_CASES],
                         ids=[c[0] for c in TRADE_CASES])
def test_match_trade_at_100_follows_the_table(order: OrderTerms, expected: Match | None) -> None:
    result = match_trade(order, D("100"))

    assert result == expected


# A quote 99 bid / 101 ask.
QUOTE_CASES = [
    ("market buy", terms(BUY, MARKET), fill("101", at_open=True)),
    ("market sell", terms(SELL, MARKET), fill("99", at_open=True)),
    ("limit buy at ask", terms(BUY, LIMIT, "101"), fill("101", at_open=True)),
    ("limit buy through", terms(BUY, LIMIT, "102"), fill("101", at_open=True)),
    ("limit buy no touch", terms(BUY, LIMIT, "100"), None),
    ("limit sell through", terms(SELL, LIMIT, "98"), fill("99", at_open=True)),
    ("limit sell no touch", terms(SELL, LIMIT, "100"), None),
    ("post-only buy through", terms(BUY, LIMIT, "102", post_only=True),
     fill("101", MAKER, at_open=True)),
    ("stop buy through", terms(BUY, STOP, trigger="100"),
     fill("101", at_open=True, triggered=True)),
    ("stop buy no touch", terms(BUY, STOP, trigger="102"), None),
    ("stop sell through", terms(SELL, STOP, trigger="100"),
     fill("99", at_open=True, triggered=True)),
    ("stop sell no touch", terms(SELL, STOP, trigger="98"), None),
    ("stop-limit buy marketable", terms(BUY, STOP_LIMIT, "101", "100"),
     fill("101", at_open=True, triggered=True)),
    ("stop-limit buy not marketable", terms(BUY, STOP_LIMIT, "100", "100"),
     Match(at_open=True, triggered=True)),
]


@pytest.mark.parametrize(("order", "expected"), [c[1:] for c in QUOTE_CASES],
                         ids=[c[0] for c in QUOTE_CASES])
def test_match_quote_99_101_follows_the_table(order: OrderTerms, expected: Match | None) -> None:
    result = match_quote(order, D("99"), D("101"))

    assert result == expected


def test_match_bar_limit_without_price_raises_value_error() -> None:
    with pytest.raises(ValueError, match="price None"):
        match_bar(terms(BUY, LIMIT), D("100"), D("110"), D("90"))


@pytest.mark.parametrize(
    ("leaves", "capacity", "fill_or_kill", "expected"),
    [
        ("1", None, False, "1"),
        ("1", "0.4", False, "0.4"),
        ("1", "2", False, "1"),
        ("1", "0", False, "0"),
        ("1", "0.4", True, "0"),
        ("1", "1", True, "1"),
    ],
)
def test_fill_quantity_caps_leaves(
    leaves: str, capacity: str | None, fill_or_kill: bool, expected: str
) -> None:
    result = fill_quantity(
        D(leaves), None if capacity is None else D(capacity), fill_or_kill=fill_or_kill
    )

    assert result == D(expected)


@pytest.mark.parametrize(
    ("volume", "fraction", "expected"),
    [("10", "0.1", "1.000"), ("4.5", "0.1", "0.450"), ("0.0099", "0.1", "0.000"),
     ("0", "0.5", "0"), ("-3", "0.5", "0")],
)
def test_volume_capacity_rounds_down_to_size_increment(
    volume: str, fraction: str, expected: str
) -> None:
    result = volume_capacity(D(volume), D(fraction), D("0.001"))

    assert result == D(expected)


INSTRUMENT = Instrument(
    instrument_id="BTC/USDT.SIM", symbol="BTC/USDT", venue="SIM", base_currency="BTC",
    quote_currency="USDT", price_increment=D("0.01"), size_increment=D("0.001"),
    ts_event=0, ts_init=0,
)
MINUTE = 60_000_000_000


def test_market_item_bar_rounds_prices_and_spans_the_bar() -> None:
    bar = Bar(bar_type=BarType(instrument_id="BTC/USDT.SIM", timeframe="1m"), open=100.004,
              high=110.006, low=89.996, close=100.0, volume=10.0, ts_event=2 * MINUTE,
              ts_init=2 * MINUTE)

    item = market_item(bar, INSTRUMENT, D("0.1"))

    assert item is not None
    assert (item.start_ns, item.end_ns, item.spans_time) == (MINUTE, 2 * MINUTE, True)
    assert item.buy_capacity == item.sell_capacity == D("1.000")
    assert item.match(terms(BUY, MARKET)) == fill("100.00", at_open=True)
    assert item.match(terms(SELL, LIMIT, "110.01")) == fill("110.01", MAKER, at_open=False)


def test_market_item_quote_capacity_per_side() -> None:
    quote = QuoteTick(instrument_id="BTC/USDT.SIM", bid_price=99.0, ask_price=101.0,
                      bid_size=20.0, ask_size=5.0, ts_event=7, ts_init=7)

    item = market_item(quote, INSTRUMENT, D("0.5"))

    assert item is not None
    assert (item.start_ns, item.end_ns, item.spans_time) == (7, 7, False)
    assert (item.buy_capacity, item.sell_capacity) == (D("2.500"), D("10.000"))


def test_market_item_without_cap_has_no_capacity() -> None:
    trade = TradeTick(instrument_id="BTC/USDT.SIM", price=100.0, size=1.0, ts_event=7, ts_init=7)

    item = market_item(trade, INSTRUMENT, None)

    assert item is not None
    assert item.buy_capacity is None and item.sell_capacity is None


def test_market_item_non_finite_price_is_none() -> None:
    trade = TradeTick(instrument_id="BTC/USDT.SIM", price=float("nan"), size=1.0, ts_event=7,
                      ts_init=7)

    assert market_item(trade, INSTRUMENT, None) is None
