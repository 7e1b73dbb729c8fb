"""The fake exchange's state: instruments, a book the test controls, orders, trades, balances.

Pure and synchronous: the HTTP and WebSocket layers (`app.py`) call it and forward what
it publishes. Every change is published as a Binance wire message (`depthUpdate`,
`trade`, `bookTicker`, `executionReport`, `outboundAccountPosition`) to the listeners
registered with `listen`, in the order it happened.

Matching: a market order, or a limit order that crosses, takes liquidity from the book
the test set (`set_level`), best price first, and what a limit order leaves rests. A
resting order fills when the test trades through its price (`trade_through`). The book
is the test's: our orders are not shown in it, and a fill takes the level's quantity
away as a real trade would. Commission is 0.1% of the notional, charged in the quote
asset on both sides (simpler than Binance's asset-received rule, and enough to check
that fees are carried). The clock is the fake's own (`now_ms`), one millisecond per
change from a fixed origin, so runs are repeatable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

__all__ = ("BinanceError", "FakeOrder", "FakeState", "FakeSymbol", "FakeTrade")

FEE_RATE = Decimal("0.001")
ORIGIN_MS = 1_700_000_000_000

Listener = Callable[[str, dict[str, Any]], None]
"""Called with ("market" | "user", message) for every message the exchange publishes."""


class BinanceError(Exception):
    """A request the exchange refuses: `{"code": code, "msg": msg}` with `status`."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(f"{code} {msg}")
        self.code = code
        self.msg = msg
        self.status = status


@dataclass(frozen=True)
class FakeSymbol:
    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal
    min_notional: Decimal

    def exchange_info(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol, "status": "TRADING", "baseAsset": self.base,
            "baseAssetPrecision": 8, "quoteAsset": self.quote, "quotePrecision": 8,
            "quoteAssetPrecision": 8, "baseCommissionPrecision": 8,
            "quoteCommissionPrecision": 8,
            "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT",
                           "TAKE_PROFIT_LIMIT"],
            "icebergAllowed": True, "ocoAllowed": True, "otoAllowed": True,
            "quoteOrderQtyMarketAllowed": True, "allowTrailingStop": True,
            "cancelReplaceAllowed": True, "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": str(self.tick_size),
                 "maxPrice": "1000000.00000000", "tickSize": str(self.tick_size)},
                {"filterType": "LOT_SIZE", "minQty": str(self.min_qty),
                 "maxQty": "9000.00000000", "stepSize": str(self.step_size)},
                {"filterType": "NOTIONAL", "minNotional": str(self.min_notional),
                 "applyMinToMarket": True, "maxNotional": "9000000.00000000",
                 "applyMaxToMarket": False, "avgPriceMins": 5},
            ],
            "permissions": [], "permissionSets": [["SPOT"]],
            "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
            "allowedSelfTradePreventionModes": ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER"],
        }


@dataclass
class FakeOrder:
    symbol: str
    order_id: int
    client_order_id: str
    side: str
    type: str
    time_in_force: str
    price: Decimal
    quantity: Decimal
    time_ms: int
    executed: Decimal = Decimal(0)
    quote_executed: Decimal = Decimal(0)
    status: str = "NEW"
    update_ms: int = 0

    @property
    def is_open(self) -> bool:
        return self.status in ("NEW", "PARTIALLY_FILLED")

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.executed

    def rest(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol, "orderId": self.order_id, "orderListId": -1,
            "clientOrderId": self.client_order_id, "price": _s(self.price),
            "origQty": _s(self.quantity), "executedQty": _s(self.executed),
            "cummulativeQuoteQty": _s(self.quote_executed), "status": self.status,
            "timeInForce": self.time_in_force, "type": self.type, "side": self.side,
            "stopPrice": "0.00000000", "icebergQty": "0.00000000", "time": self.time_ms,
            "updateTime": self.update_ms or self.time_ms, "isWorking": True,
            "workingTime": self.time_ms, "origQuoteOrderQty": "0.00000000",
            "selfTradePreventionMode": "NONE",
        }


@dataclass(frozen=True)
class FakeTrade:
    trade_id: int
    order_id: int
    symbol: str
    side: str
    price: Decimal
    quantity: Decimal
    commission: Decimal
    commission_asset: str
    is_maker: bool
    time_ms: int

    def rest(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol, "id": self.trade_id, "orderId": self.order_id,
            "orderListId": -1, "price": _s(self.price), "qty": _s(self.quantity),
            "quoteQty": _s(self.price * self.quantity), "commission": _s(self.commission),
            "commissionAsset": self.commission_asset, "time": self.time_ms,
            "isBuyer": self.side == "BUY", "isMaker": self.is_maker, "isBestMatch": True,
        }


@dataclass
class FakeState:
    """Everything the exchange knows; see the module docstring."""

    symbols: dict[str, FakeSymbol]
    balances: dict[str, Decimal]
    now_ms: int = ORIGIN_MS
    bids: dict[str, dict[Decimal, Decimal]] = field(default_factory=dict)
    asks: dict[str, dict[Decimal, Decimal]] = field(default_factory=dict)
    update_id: int = 1000
    orders: dict[int, FakeOrder] = field(default_factory=dict)
    trades: list[FakeTrade] = field(default_factory=list)
    locked: dict[str, Decimal] = field(default_factory=dict)
    listeners: list[Listener] = field(default_factory=list)
    skip_private: int = 0
    gap_next_depth: bool = False
    private_skipped: int = 0
    _next_order_id: int = 1
    _next_trade_id: int = 1
    _public_trade_id: int = 500_000

    # -- time and publishing ----------------------------------------------------------------

    def tick(self) -> int:
        self.now_ms += 1
        return self.now_ms

    def listen(self, listener: Listener) -> None:
        self.listeners.append(listener)

    def unlisten(self, listener: Listener) -> None:
        if listener in self.listeners:
            self.listeners.remove(listener)

    def _publish(self, channel: str, message: dict[str, Any]) -> None:
        if channel == "user" and message.get("e") == "executionReport" and self.skip_private:
            self.skip_private -= 1
            self.private_skipped += 1
            return
        for listener in list(self.listeners):
            listener(channel, message)

    # -- the book (test controls) ---------------------------------------------------------------

    def set_level(self, symbol: str, side: str, price: Decimal, quantity: Decimal) -> None:
        """Set one level of the book (quantity 0 removes it) and publish the depth diff."""
        book = (self.bids if side == "BUY" else self.asks).setdefault(symbol, {})
        if quantity > 0:
            book[price] = quantity
        else:
            book.pop(price, None)
        self._publish_depth(symbol, [(side, price, quantity)])

    def _publish_depth(self, symbol: str, changes: list[tuple[str, Decimal, Decimal]]) -> None:
        first = self.update_id + 1
        if self.gap_next_depth:
            first += 5  # ids skipped: a client must notice and resynchronize
            self.gap_next_depth = False
        self.update_id = first
        now = self.tick()
        self._publish("market", {
            "e": "depthUpdate", "E": now, "s": symbol, "U": first, "u": self.update_id,
            "b": [[_s(p), _s(q)] for side, p, q in changes if side == "BUY"],
            "a": [[_s(p), _s(q)] for side, p, q in changes if side == "SELL"],
        })
        bid, ask = self.best(symbol, "BUY"), self.best(symbol, "SELL")
        if bid is not None and ask is not None:
            self._publish("market", {
                "u": self.update_id, "s": symbol, "b": _s(bid[0]), "B": _s(bid[1]),
                "a": _s(ask[0]), "A": _s(ask[1]),
            })

    def best(self, symbol: str, side: str) -> tuple[Decimal, Decimal] | None:
        book = (self.bids if side == "BUY" else self.asks).get(symbol, {})
        if not book:
            return None
        price = max(book) if side == "BUY" else min(book)
        return price, book[price]

    def depth(self, symbol: str, limit: int) -> dict[str, Any]:
        bids = sorted(self.bids.get(symbol, {}).items(), reverse=True)[:limit]
        asks = sorted(self.asks.get(symbol, {}).items())[:limit]
        return {"lastUpdateId": self.update_id,
                "bids": [[_s(p), _s(q)] for p, q in bids],
                "asks": [[_s(p), _s(q)] for p, q in asks]}

    def public_trade(self, symbol: str, price: Decimal, quantity: Decimal,
                     buyer_is_maker: bool = False) -> None:
        """Print a trade on the market stream (nobody's order: the tape moves)."""
        self._public_trade_id += 1
        now = self.tick()
        self._publish("market", {
            "e": "trade", "E": now, "s": symbol, "t": self._public_trade_id,
            "p": _s(price), "q": _s(quantity), "T": now, "m": buyer_is_maker, "M": True,
        })

    def kline(self, symbol: str, interval: str, start_ms: int, close_ms: int,
              ohlcv: tuple[Decimal, Decimal, Decimal, Decimal, Decimal], closed: bool) -> None:
        open_, high, low, close, volume = ohlcv
        self._publish("market", {
            "e": "kline", "E": self.tick(), "s": symbol,
            "k": {"t": start_ms, "T": close_ms, "s": symbol, "i": interval, "f": 1, "L": 2,
                  "o": _s(open_), "c": _s(close), "h": _s(high), "l": _s(low),
                  "v": _s(volume), "n": 2, "x": closed, "q": _s(volume * close),
                  "V": "0", "Q": "0", "B": "0"},
        })

    # -- orders ---------------------------------------------------------------------------------

    def submit(self, params: dict[str, str]) -> FakeOrder:
        """Check and place an order; fill what crosses. Raises BinanceError when refused."""
        symbol = self._symbol(params.get("symbol"))
        side = params.get("side", "")
        kind = params.get("type", "")
        if side not in ("BUY", "SELL"):
            raise BinanceError(-1100, "Illegal characters found in parameter 'side'.")
        if kind not in ("MARKET", "LIMIT", "LIMIT_MAKER"):
            raise BinanceError(-1116, "Invalid orderType.")
        quantity = _decimal(params, "quantity")
        if quantity <= 0 or quantity % symbol.step_size or quantity < symbol.min_qty:
            raise BinanceError(-1013, "Filter failure: LOT_SIZE")
        price = Decimal(0)
        if kind != "MARKET":
            price = _decimal(params, "price")
            if price <= 0 or price % symbol.tick_size:
                raise BinanceError(-1013, "Filter failure: PRICE_FILTER")
        client_order_id = params.get("newClientOrderId") or f"fake-{self._next_order_id}"
        if any(o.client_order_id == client_order_id and o.is_open
               for o in self.orders.values()):
            raise BinanceError(-2010, "Duplicate order sent.")
        reference = price if kind != "MARKET" else self._market_reference(symbol.symbol, side)
        if reference * quantity < symbol.min_notional:
            raise BinanceError(-1013, "Filter failure: NOTIONAL")
        self._reserve(symbol, side, quantity, reference)
        now = self.tick()
        order = FakeOrder(symbol=symbol.symbol, order_id=self._next_order_id,
                          client_order_id=client_order_id, side=side, type=kind,
                          time_in_force=params.get("timeInForce", "GTC"), price=price,
                          quantity=quantity, time_ms=now, update_ms=now)
        self._next_order_id += 1
        self.orders[order.order_id] = order
        self._report(order, "NEW")
        self._cross(order)
        if order.type == "MARKET" and order.is_open:
            self._release(order)
            order.status = "EXPIRED"
            self._report(order, "EXPIRED")
        return order

    def _market_reference(self, symbol: str, side: str) -> Decimal:
        top = self.best(symbol, "SELL" if side == "BUY" else "BUY")
        if top is None:
            raise BinanceError(-2010, "Order would immediately match and take.")
        return top[0]

    def _cross(self, order: FakeOrder) -> None:
        """Take liquidity from the book while the order crosses it."""
        opposite = self.asks if order.side == "BUY" else self.bids
        book = opposite.setdefault(order.symbol, {})
        changes: list[tuple[str, Decimal, Decimal]] = []
        while order.remaining > 0 and book:
            level = min(book) if order.side == "BUY" else max(book)
            if order.type != "MARKET" and (
                (order.side == "BUY" and level > order.price)
                or (order.side == "SELL" and level < order.price)):
                break
            take = min(order.remaining, book[level])
            book[level] -= take
            if book[level] == 0:
                del book[level]
            changes.append(("SELL" if order.side == "BUY" else "BUY", level, book.get(level,
                                                                                    Decimal(0))))
            self._fill(order, level, take, is_maker=False)
        if changes:
            self._publish_depth(order.symbol, changes)

    def trade_through(self, symbol: str, price: Decimal,
                      max_quantity: Decimal | None = None) -> int:
        """The market trades at `price`: resting orders at it or better fill at their price.

        Each fills at most `max_quantity` when given. Returns how many fills happened.
        """
        count = 0
        for order in sorted(self.orders.values(), key=lambda o: o.order_id):
            if order.symbol != symbol or not order.is_open or order.type == "MARKET":
                continue
            if (order.side == "BUY" and price <= order.price) or (
                    order.side == "SELL" and price >= order.price):
                take = order.remaining if max_quantity is None else min(order.remaining,
                                                                        max_quantity)
                self._fill(order, order.price, take, is_maker=True)
                count += 1
        self.public_trade(symbol, price, max_quantity or Decimal(1))
        return count

    def _fill(self, order: FakeOrder, price: Decimal, quantity: Decimal, *,
              is_maker: bool) -> None:
        symbol = self.symbols[order.symbol]
        notional = price * quantity
        commission = (notional * FEE_RATE).quantize(Decimal("0.00000001"))
        now = self.tick()
        trade = FakeTrade(trade_id=self._next_trade_id, order_id=order.order_id,
                          symbol=order.symbol, side=order.side, price=price,
                          quantity=quantity, commission=commission,
                          commission_asset=symbol.quote, is_maker=is_maker, time_ms=now)
        self._next_trade_id += 1
        self.trades.append(trade)
        order.executed += quantity
        order.quote_executed += notional
        order.update_ms = now
        order.status = "FILLED" if order.remaining == 0 else "PARTIALLY_FILLED"
        # balances: the reserve at the order's reference price is released for this part
        if order.side == "BUY":
            reserved = quantity * (order.price if order.type != "MARKET" else price)
            self._unlock(symbol.quote, reserved)
            self.balances[symbol.quote] -= notional + commission
            self.balances[symbol.base] = self.balances.get(symbol.base, Decimal(0)) + quantity
        else:
            self._unlock(symbol.base, quantity)
            self.balances[symbol.base] -= quantity
            self.balances[symbol.quote] = (self.balances.get(symbol.quote, Decimal(0))
                                           + notional - commission)
        self._report(order, "TRADE", trade)
        self._account_position(symbol)

    def cancel(self, params: dict[str, str]) -> FakeOrder:
        order = self.find(params)
        if order is None or not order.is_open:
            raise BinanceError(-2011, "Unknown order sent.")
        self._release(order)
        order.status = "CANCELED"
        order.update_ms = self.tick()
        self._report(order, "CANCELED")
        self._account_position(self.symbols[order.symbol])
        return order

    def find(self, params: dict[str, str]) -> FakeOrder | None:
        symbol = self._symbol(params.get("symbol"))
        if params.get("orderId"):
            order = self.orders.get(int(params["orderId"]))
            return order if order is not None and order.symbol == symbol.symbol else None
        client_order_id = params.get("origClientOrderId")
        if not client_order_id:
            raise BinanceError(-1102, "Param 'origClientOrderId' or 'orderId' must be sent, "
                                      "but both were empty/null!")
        matches = [o for o in self.orders.values()
                   if o.client_order_id == client_order_id and o.symbol == symbol.symbol]
        return max(matches, key=lambda o: o.order_id) if matches else None

    def open_orders(self, symbol: str | None) -> list[FakeOrder]:
        return [o for o in self.orders.values()
                if o.is_open and (symbol is None or o.symbol == symbol)]

    def my_trades(self, params: dict[str, str]) -> list[FakeTrade]:
        symbol = self._symbol(params.get("symbol")).symbol
        start = int(params.get("startTime", 0))
        trades = [t for t in self.trades if t.symbol == symbol and t.time_ms >= start]
        if params.get("orderId"):
            trades = [t for t in trades if t.order_id == int(params["orderId"])]
        if params.get("fromId"):
            trades = [t for t in trades if t.trade_id >= int(params["fromId"])]
        return trades[: int(params.get("limit", 500))]

    def account(self) -> dict[str, Any]:
        return {
            "makerCommission": 10, "takerCommission": 10, "buyerCommission": 0,
            "sellerCommission": 0, "canTrade": True, "canWithdraw": True, "canDeposit": True,
            "brokered": False, "requireSelfTradePrevention": False, "preventSor": False,
            "updateTime": self.now_ms, "accountType": "SPOT", "permissions": ["SPOT"],
            "uid": 1, "balances": [self._balance(asset) for asset in sorted(self.balances)],
        }

    # -- helpers ------------------------------------------------------------------------------

    def _symbol(self, name: str | None) -> FakeSymbol:
        if name is None or name not in self.symbols:
            raise BinanceError(-1121, "Invalid symbol.")
        return self.symbols[name]

    def _reserve(self, symbol: FakeSymbol, side: str, quantity: Decimal,
                 price: Decimal) -> None:
        asset, amount = ((symbol.quote, quantity * price * (1 + FEE_RATE)) if side == "BUY"
                         else (symbol.base, quantity))
        if self.balances.get(asset, Decimal(0)) - self.locked.get(asset, Decimal(0)) < amount:
            raise BinanceError(-2010, "Account has insufficient balance for requested action.")
        lock = quantity * price if side == "BUY" else quantity
        self.locked[asset] = self.locked.get(asset, Decimal(0)) + lock

    def _unlock(self, asset: str, amount: Decimal) -> None:
        self.locked[asset] = max(Decimal(0), self.locked.get(asset, Decimal(0)) - amount)

    def _release(self, order: FakeOrder) -> None:
        symbol = self.symbols[order.symbol]
        if order.side == "BUY":
            reference = order.price if order.type != "MARKET" else Decimal(0)
            self._unlock(symbol.quote, order.remaining * reference)
        else:
            self._unlock(symbol.base, order.remaining)

    def _balance(self, asset: str) -> dict[str, str]:
        locked = self.locked.get(asset, Decimal(0))
        return {"asset": asset, "free": _s(self.balances[asset] - locked), "locked": _s(locked)}

    def _account_position(self, symbol: FakeSymbol) -> None:
        now = self.now_ms
        self._publish("user", {
            "e": "outboundAccountPosition", "E": now, "u": now,
            "B": [{"a": a, "f": b["free"], "l": b["locked"]}
                  for a in (symbol.base, symbol.quote) if a in self.balances
                  for b in (self._balance(a),)],
        })

    def _report(self, order: FakeOrder, execution: str, trade: FakeTrade | None = None) -> None:
        now = self.now_ms
        self._publish("user", {
            "e": "executionReport", "E": now, "s": order.symbol, "c": order.client_order_id,
            "S": order.side, "o": order.type, "f": order.time_in_force,
            "q": _s(order.quantity), "p": _s(order.price), "P": "0.00000000",
            "F": "0.00000000", "g": -1,
            "C": order.client_order_id if execution == "CANCELED" else "",
            "x": execution, "X": order.status, "r": "NONE", "i": order.order_id,
            "l": _s(trade.quantity if trade else Decimal(0)), "z": _s(order.executed),
            "L": _s(trade.price if trade else Decimal(0)),
            "n": _s(trade.commission if trade else Decimal(0)),
            "N": trade.commission_asset if trade else None, "T": now,
            "t": trade.trade_id if trade else -1, "v": 0, "I": 1, "w": order.is_open,
            "m": trade.is_maker if trade else False, "M": False, "O": order.time_ms,
            "Z": _s(order.quote_executed),
            "Y": _s(trade.price * trade.quantity if trade else Decimal(0)),
            "Q": "0.00000000", "W": order.time_ms, "V": "NONE",
        })


def _s(value: Decimal) -> str:
    return f"{value:.8f}"


def _decimal(params: dict[str, str], name: str) -> Decimal:
    raw = params.get(name)
    if raw is None:
        raise BinanceError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, "
                                  "or malformed.")
    try:
        return Decimal(raw)
    except ArithmeticError as e:
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'.") from e
