"""Turn ccxt's unified dicts into engine events and reports: pure functions, no I/O.

ccxt hands prices and amounts over as floats; money is Decimal in the engine, so every
amount is taken through `repr` (the shortest string that round-trips) and quantized to
the instrument's increment, which gives back the exchange's exact decimal. Times are
ccxt's milliseconds, turned into nanoseconds (`ts_event`); `ts_init` is the engine time
the caller passes. A dict missing what an event needs raises `MalformedMessage`, which
the callers count and skip.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from engine.domain.enums import (
    BookAction,
    LiquiditySide,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from engine.domain.ids import split_instrument_id
from engine.domain.reports import (
    AccountReport,
    BalanceReport,
    FillReport,
    OrderStatusReport,
)
from engine.errors import MalformedMessage
from engine.events.market import Bar, BarType, BookDelta, Instrument, QuoteTick, TradeTick

__all__ = (
    "account_report",
    "bar",
    "book_deltas",
    "decimal",
    "fill_report",
    "instrument",
    "instrument_id",
    "order_status",
    "order_status_report",
    "quote_tick",
    "symbol_of",
    "trade_tick",
)

MS = 1_000_000
COMMISSION_STEP = Decimal("0.00000001")
_STATUSES = {
    "open": OrderStatus.ACCEPTED,
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
}
_TIME_IN_FORCE = {"GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK,
                  "PO": TimeInForce.GTC}


def instrument_id(symbol: str, venue: str) -> str:
    """The engine's id of a ccxt symbol at `venue` ("BTC/USDT" -> "BTC/USDT.BINANCE")."""
    return f"{symbol}.{venue}"


def symbol_of(instrument_id: str) -> str:
    """The ccxt symbol of an engine instrument id ("BTC/USDT.BINANCE" -> "BTC/USDT").

    Raises:
        ValueError: not SYMBOL.VENUE (`engine.domain.ids.split_instrument_id`).
    """
    return split_instrument_id(instrument_id)[0]


def decimal(value: Any, step: Decimal | None = None) -> Decimal:
    """An exact Decimal of a ccxt number (float, int or string), quantized to `step`."""
    if value is None:
        return Decimal(0)
    result = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    return result.quantize(step) if step is not None and step > 0 else result


def _required(raw: dict[str, Any], key: str, venue: str) -> Any:
    value = raw.get(key)
    if value is None:
        raise MalformedMessage(venue, raw.get("info", raw), f"field {key!r} is missing")
    return value


def instrument(market: dict[str, Any], venue: str) -> Instrument:
    """An Instrument from one of ccxt's `load_markets` entries."""
    precision = market.get("precision") or {}
    limits = market.get("limits") or {}
    return Instrument(
        instrument_id=instrument_id(market["symbol"], venue), symbol=market["symbol"],
        venue=venue, base_currency=market["base"], quote_currency=market["quote"],
        price_increment=decimal(_required(precision, "price", venue)).normalize(),
        size_increment=decimal(_required(precision, "amount", venue)).normalize(),
        min_quantity=decimal((limits.get("amount") or {}).get("min")).normalize(),
        min_notional=decimal((limits.get("cost") or {}).get("min")).normalize(),
        maker_fee=decimal(market.get("maker")), taker_fee=decimal(market.get("taker")),
        multiplier=decimal(market.get("contractSize") or 1),
        ts_event=0, ts_init=0,
    )


def order_status(order: dict[str, Any], filled: Decimal) -> OrderStatus:
    """The engine's word for a ccxt order status (an open order with fills is partly filled)."""
    status = _STATUSES.get(order.get("status") or "", OrderStatus.ACCEPTED)
    if status is OrderStatus.ACCEPTED and filled > 0:
        return OrderStatus.PARTIALLY_FILLED
    return status


def order_status_report(
    order: dict[str, Any], item: Instrument, *, client_order_id: str | None,
    filled_before: Decimal = Decimal(0), quantity: Decimal | None = None,
    average: Decimal | None = None,
) -> OrderStatusReport:
    """An OrderStatusReport of a ccxt order.

    `filled_before` adds the fills of the legs a cancel-replace retired (the engine's
    order is all of them), `quantity` is its total and `average` the average of all its
    fills (the exchange knows one leg's only); without them the order's own figures.
    """
    venue = item.venue
    filled = decimal(order.get("filled"), item.size_increment) + filled_before
    if average is None and filled > 0 and order.get("average") is not None:
        average = decimal(order["average"])
    side = OrderSide.BUY if _required(order, "side", venue) == "buy" else OrderSide.SELL
    kind = OrderType.MARKET if order.get("type") == "market" else OrderType.LIMIT
    price = order.get("price")
    return OrderStatusReport(
        venue=venue, instrument_id=item.instrument_id, client_order_id=client_order_id,
        venue_order_id=str(_required(order, "id", venue)), side=side, order_type=kind,
        quantity=(quantity if quantity is not None
                  else decimal(order.get("amount"), item.size_increment)),
        status=order_status(order, filled), filled_quantity=filled,
        average_fill_price=average,
        price=(decimal(price, item.price_increment)
               if kind is OrderType.LIMIT and price else None),
        time_in_force=_TIME_IN_FORCE.get(order.get("timeInForce") or "GTC", TimeInForce.GTC),
        ts_event=int(order.get("lastUpdateTimestamp") or order.get("timestamp") or 0) * MS,
    )


def fill_report(trade: dict[str, Any], item: Instrument,
                client_order_id: str | None) -> FillReport:
    """A FillReport of a ccxt trade of ours (`fetch_my_trades`, `watch_my_trades`)."""
    venue = item.venue
    fee = trade.get("fee") or {}
    return FillReport(
        venue=venue, instrument_id=item.instrument_id, client_order_id=client_order_id,
        venue_order_id=str(_required(trade, "order", venue)),
        trade_id=str(_required(trade, "id", venue)),
        side=OrderSide.BUY if _required(trade, "side", venue) == "buy" else OrderSide.SELL,
        last_quantity=decimal(_required(trade, "amount", venue), item.size_increment),
        last_price=decimal(_required(trade, "price", venue), item.price_increment),
        commission=decimal(fee.get("cost"), COMMISSION_STEP),
        commission_currency=str(fee.get("currency") or item.quote_currency),
        liquidity_side=(LiquiditySide.MAKER if trade.get("takerOrMaker") == "maker"
                        else LiquiditySide.TAKER),
        ts_event=int(trade.get("timestamp") or 0) * MS,
    )


def account_report(balance: dict[str, Any], venue: str, account_id: str) -> AccountReport:
    """An AccountReport of ccxt's `fetch_balance` (currencies with a non-zero total)."""
    totals = balance.get("total") or {}
    frees = balance.get("free") or {}
    useds = balance.get("used") or {}
    balances = tuple(
        BalanceReport(currency=currency, total=decimal(totals[currency]),
                      free=decimal(frees.get(currency)), locked=decimal(useds.get(currency)))
        for currency in sorted(totals) if totals[currency]
    )
    return AccountReport(venue=venue, account_id=account_id, balances=balances,
                         ts_event=int(balance.get("timestamp") or 0) * MS)


def trade_tick(trade: dict[str, Any], item_id: str, venue: str, ts_init: int) -> TradeTick:
    """A TradeTick of a ccxt public trade (`watch_trades`)."""
    side = trade.get("side")
    return TradeTick(
        instrument_id=item_id, price=float(_required(trade, "price", venue)),
        size=float(_required(trade, "amount", venue)),
        aggressor_side=(OrderSide.BUY if side == "buy" else OrderSide.SELL if side == "sell"
                        else None),
        trade_id=str(trade.get("id") or ""),
        ts_event=int(_required(trade, "timestamp", venue)) * MS, ts_init=ts_init,
    )


def bar(candle: list[Any], bar_type: BarType, venue: str, ts_init: int) -> Bar:
    """A Bar of a ccxt OHLCV row [open time ms, o, h, l, c, v]; `ts_event` is its close."""
    if len(candle) < 6 or any(value is None for value in candle[:6]):
        raise MalformedMessage(venue, candle, "an OHLCV row needs six values")
    return Bar(
        bar_type=bar_type, open=float(candle[1]), high=float(candle[2]),
        low=float(candle[3]), close=float(candle[4]), volume=float(candle[5]),
        ts_event=int(candle[0]) * MS + bar_type.step_ns, ts_init=ts_init,
    )


def quote_tick(ticker: dict[str, Any], item_id: str, venue: str, ts_init: int) -> QuoteTick:
    """A QuoteTick of a ccxt ticker or bid-ask entry (`watch_bids_asks`)."""
    timestamp = ticker.get("timestamp")
    return QuoteTick(
        instrument_id=item_id, bid_price=float(_required(ticker, "bid", venue)),
        ask_price=float(_required(ticker, "ask", venue)),
        bid_size=float(ticker.get("bidVolume") or 0.0),
        ask_size=float(ticker.get("askVolume") or 0.0),
        ts_event=int(timestamp) * MS if timestamp else ts_init, ts_init=ts_init,
    )


def book_deltas(
    previous: dict[OrderSide, dict[float, float]],
    book: dict[str, Any],
    item_id: str,
    ts_init: int,
    *,
    snapshot: bool,
) -> list[BookDelta]:
    """The deltas from `previous` (price -> size per side, updated in place) to ccxt's
    order book `book`; a snapshot starts with CLEAR and lists every level as ADD."""
    sequence = int(book.get("nonce") or 0)
    timestamp = book.get("timestamp")
    ts_event = int(timestamp) * MS if timestamp else ts_init
    deltas: list[BookDelta] = []
    if snapshot:
        for levels in previous.values():
            levels.clear()
        deltas.append(BookDelta(instrument_id=item_id, side=OrderSide.BUY,
                                action=BookAction.CLEAR, price=0.0, size=0.0,
                                sequence=sequence, ts_event=ts_event, ts_init=ts_init))
    for side, key in ((OrderSide.BUY, "bids"), (OrderSide.SELL, "asks")):
        # ccxt's levels are [price, size], best first: one pass to index them, one over
        # them for adds and updates, one over the old ones for deletes. Indexing and the
        # checks that skip a pass (no level changed, none removed: most diffs touch few
        # levels) run in C; the passes in Python were most of this function's time.
        now = _levels(book.get(key) or ())
        before = previous.get(side) or {}
        previous[side] = now
        if not now.items() <= before.items():
            for price, size in now.items():
                old = before.get(price)
                if old == size:
                    continue
                deltas.append(BookDelta(
                    instrument_id=item_id, side=side,
                    action=BookAction.ADD if old is None else BookAction.UPDATE, price=price,
                    size=size, sequence=sequence, ts_event=ts_event, ts_init=ts_init))
        if before.keys() <= now.keys():
            continue
        for price in before:
            if price not in now:
                deltas.append(BookDelta(instrument_id=item_id, side=side,
                                        action=BookAction.DELETE, price=price, size=0.0,
                                        sequence=sequence, ts_event=ts_event, ts_init=ts_init))
    return deltas


def _levels(levels: Any) -> dict[float, float]:
    """price -> size of ccxt's [price, size] levels (floats in its unified book); levels
    that carry more (an order count, a timestamp) take the slower path."""
    try:
        return dict(levels)
    except (TypeError, ValueError):
        return {float(level[0]): float(level[1]) for level in levels}
