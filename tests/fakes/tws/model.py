"""What the fake gateway knows (its contracts, the orders placed with it, their executions)
and the rules it applies to them (validation, fills, cash and positions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

__all__ = (
    "ContractSpec",
    "FakeExecution",
    "FakeOrder",
    "ORDER_TYPES",
    "cash",
    "default_contracts",
    "fillable",
    "positions",
    "terms_error",
    "validation_error",
)

ORDER_TYPES = frozenset({"MKT", "LMT", "STP", "STP LMT", "MIT", "LIT", "TRAIL", "TRAIL LIMIT"})
"""The order types the fake works; any other is refused (387)."""

_MARKET_ONCE_TRIGGERED = frozenset({"MKT", "STP", "MIT", "TRAIL"})
_TRAILING = frozenset({"TRAIL", "TRAIL LIMIT"})


@dataclass(frozen=True, slots=True)
class ContractSpec:
    """One contract as the gateway's contract details describe it."""

    con_id: int
    symbol: str
    sec_type: str
    exchange: str
    currency: str
    local_symbol: str
    trading_class: str
    min_tick: Decimal
    size_increment: Decimal = Decimal(1)
    min_size: Decimal = Decimal(1)
    multiplier: str = ""
    last_trade_date: str = ""
    primary_exchange: str = ""
    long_name: str = ""
    time_zone: str = "US/Eastern"
    trading_hours: str = "20261202:0930-20261202:1600"
    liquid_hours: str = "20261202:0930-20261202:1600"

    def matches(self, fields: list[str]) -> bool:
        """Whether a request's 12 contract fields name this contract (conId, or terms)."""
        con_id, symbol, sec_type, last_trade, _strike, _right, _mult, exchange, _primary, \
            currency, local_symbol, _trading_class = fields
        if con_id not in ("", "0"):
            return int(con_id) == self.con_id
        if local_symbol and local_symbol != self.local_symbol:
            return False
        return (
            symbol == self.symbol
            and sec_type == self.sec_type
            and currency in ("", self.currency)
            and exchange in ("", "SMART", self.exchange)
            and self.last_trade_date.startswith(last_trade)
        )


def default_contracts() -> list[ContractSpec]:
    """A stock on SMART, an FX pair on IDEALPRO and a future by expiry."""
    return [
        ContractSpec(con_id=265598, symbol="AAPL", sec_type="STK", exchange="SMART",
                     currency="USD", local_symbol="AAPL", trading_class="NMS",
                     min_tick=Decimal("0.01"), primary_exchange="NASDAQ",
                     long_name="APPLE INC"),
        ContractSpec(con_id=12087792, symbol="EUR", sec_type="CASH", exchange="IDEALPRO",
                     currency="USD", local_symbol="EUR.USD", trading_class="EUR.USD",
                     min_tick=Decimal("0.00005"), long_name="European Monetary Union Euro",
                     time_zone="US/Eastern",
                     trading_hours="20261201:1715-20261202:1700",
                     liquid_hours="20261201:1715-20261202:1700"),
        ContractSpec(con_id=637533641, symbol="ES", sec_type="FUT", exchange="CME",
                     currency="USD", local_symbol="ESH7", trading_class="ES",
                     min_tick=Decimal("0.25"), multiplier="50", last_trade_date="20270319",
                     long_name="E-mini S&P 500", time_zone="US/Central",
                     trading_hours="20261201:1700-20261202:1600",
                     liquid_hours="20261202:0830-20261202:1600"),
    ]


@dataclass(slots=True)
class FakeOrder:
    """An order placed through the gateway: its terms as placed and what became of it.

    Its life: `held` (placed with transmit False: at the gateway only, the client told
    nothing, status PendingSubmit) -> transmitted, `awaiting_parent` while it is an
    attached child whose parent has not filled (PreSubmitted: open but never filled) ->
    Submitted (working) -> Filled or Cancelled.
    """

    order_id: int
    client_id: int
    perm_id: int
    contract: ContractSpec
    action: str  # BUY or SELL
    quantity: Decimal
    order_type: str  # one of ORDER_TYPES
    limit_price: Decimal | None
    aux_price: Decimal | None  # a stop's / if-touched trigger; a TRAIL's offset amount
    tif: str
    account: str
    order_ref: str
    status: str = "Submitted"
    filled: Decimal = Decimal(0)
    notional: Decimal = Decimal(0)
    triggered: bool = False
    executions: list[FakeExecution] = field(default_factory=list)
    parent_id: int = 0  # the order id (same client) of the order this one is attached to
    parent_perm_id: int = 0
    held: bool = False
    awaiting_parent: bool = False
    oca_group: str = ""
    oca_type: int = 0  # 0 as placed: the gateway applies (and reports) its default, 3
    trail_stop: Decimal | None = None  # a trailing stop's current stop (it ratchets)
    trailing_percent: Decimal | None = None  # the trailing offset when aux_price is unset
    limit_offset: Decimal | None = None  # TRAIL LIMIT: its limit's distance from the stop
    trail_limit: Decimal | None = None  # TRAIL LIMIT: the limit it became when triggered

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.filled

    @property
    def average_price(self) -> Decimal:
        return self.notional / self.filled if self.filled else Decimal(0)

    @property
    def is_working(self) -> bool:
        """Open at the broker (an inactive child too): what reqOpenOrders lists."""
        return self.status in ("PreSubmitted", "Submitted")

    @property
    def is_active(self) -> bool:
        """Working and fillable: not a child still waiting for its parent to fill."""
        return self.is_working and not self.awaiting_parent

    @property
    def is_done(self) -> bool:
        """Closed for good: what reqCompletedOrders lists."""
        return self.status in ("Filled", "Cancelled")

    @property
    def effective_oca_type(self) -> int:
        return self.oca_type or 3


@dataclass(frozen=True, slots=True)
class FakeExecution:
    """One execution of an order and its commission."""

    exec_id: str
    order: FakeOrder
    shares: Decimal
    price: Decimal
    time_s: int
    cumulative: Decimal
    average: Decimal
    commission: Decimal
    liquidity: int  # 1 added (maker), 2 removed (taker)


def validation_error(spec: ContractSpec, quantity: Decimal,
                     *prices: Decimal | None) -> tuple[int, str] | None:
    """The error code and text the gateway answers a new order's size and prices with
    (each of `prices` that is set must be on the contract's tick), if any."""
    if quantity <= 0:
        return 434, "The order size cannot be zero."
    if quantity % spec.size_increment:
        return 201, ("Order rejected - reason:The order size is not a multiple of the "
                     f"size increment {spec.size_increment}")
    for price in prices:
        if price is not None and price % spec.min_tick:
            return 110, ("The price does not conform to the minimum price variation for "
                         "this contract.")
    return None


def terms_error(order_type: str, limit_price: Decimal | None, aux_price: Decimal | None,
                trailing_percent: Decimal | None, limit_offset: Decimal | None
                ) -> tuple[int, str] | None:
    """The error an order type the fake does not work (387) or a term its type needs and
    lacks (321, IB's "Error validating request") is answered with, if any. Only the types
    added with the trailing and if-touched orders are checked for their terms: MKT .. STP
    LMT are accepted as they always were."""
    if order_type not in ORDER_TYPES:
        return 387, "Unsupported order type for this exchange and security type."
    missing = ""
    if order_type in ("MIT", "LIT") and aux_price is None:
        missing = "The trigger price (auxPrice) must be specified"
    elif order_type == "LIT" and limit_price is None:
        missing = "The limit price must be specified"
    elif order_type in _TRAILING and aux_price is None and trailing_percent is None:
        missing = "The trailing amount or trailing percent must be specified"
    elif order_type == "TRAIL LIMIT" and limit_offset is None:
        missing = "The limit price offset (lmtPriceOffset) must be specified"
    if missing:
        return 321, f"Error validating request.-'bW' : cause - {missing}"
    return None


def fillable(order: FakeOrder, price: Decimal) -> bool:
    """Whether a trade at `price` fills `order`; its trigger, if it has one, is tested
    (and a trailing stop ratcheted) first.

    Triggers: a stop when the price reaches it from the side it protects (a buy at or
    above, a sell at or below); an if-touched order (MIT, LIT) the other way round (a buy
    at or below auxPrice, a sell at or above); a trailing stop like a stop, at its
    trailing stop. Once triggered MKT-like types fill at `price`, the limit types when
    `price` reaches their limit (a TRAIL LIMIT's is its stop less / plus lmtPriceOffset).
    """
    buy = order.action == "BUY"
    if order.order_type in _TRAILING and not order.triggered:
        _ratchet(order, price)
    if order.order_type not in ("MKT", "LMT") and not order.triggered:
        trigger = order.trail_stop if order.order_type in _TRAILING else order.aux_price
        if trigger is None:
            return False
        # A buy stop waits for a rise, a buy if-touched for a fall; sells mirror them.
        rising = buy != (order.order_type in ("MIT", "LIT"))
        if not (price >= trigger if rising else price <= trigger):
            return False
        order.triggered = True
        if order.order_type == "TRAIL LIMIT" and order.limit_offset is not None:
            order.trail_limit = trigger + order.limit_offset if buy else (
                trigger - order.limit_offset)
    if order.order_type in _MARKET_ONCE_TRIGGERED:
        return True
    limit = order.trail_limit if order.order_type == "TRAIL LIMIT" else order.limit_price
    return limit is not None and ((price <= limit) if buy else (price >= limit))


def _ratchet(order: FakeOrder, price: Decimal) -> None:
    """Move a trailing stop with a trade at `price`: a sell's stop up to price - offset
    (never down), a buy's down to price + offset (never up). A stop the order was placed
    without starts there at the first price it sees. A percent offset's stop is rounded
    to the tick away from the price (the trail never tighter than asked)."""
    buy = order.action == "BUY"
    if order.aux_price is not None:
        offset = order.aux_price
    elif order.trailing_percent is not None:
        offset = price * order.trailing_percent / 100
    else:
        return
    tick = order.contract.min_tick
    candidate = price + offset if buy else price - offset
    candidate = (candidate / tick).to_integral_value(
        rounding=ROUND_CEILING if buy else ROUND_FLOOR) * tick
    if order.trail_stop is None:
        order.trail_stop = candidate
    else:
        order.trail_stop = min(order.trail_stop, candidate) if buy else max(
            order.trail_stop, candidate)


def cash(starting_cash: Decimal, executions: list[FakeExecution]) -> Decimal:
    """The account's cash: the starting cash less what executions bought and cost."""
    total = starting_cash
    for execution in executions:
        sign = 1 if execution.order.action == "BUY" else -1
        multiplier = Decimal(execution.order.contract.multiplier or 1)
        total -= sign * execution.shares * execution.price * multiplier
        total -= execution.commission
    return total


def positions(executions: list[FakeExecution]) -> list[tuple[ContractSpec, Decimal, Decimal]]:
    """Net quantity and average cost per contract, from the executions."""
    totals: dict[int, tuple[ContractSpec, Decimal, Decimal]] = {}
    for execution in executions:
        spec = execution.order.contract
        sign = 1 if execution.order.action == "BUY" else -1
        _, quantity, cost = totals.get(spec.con_id, (spec, Decimal(0), Decimal(0)))
        totals[spec.con_id] = (spec, quantity + sign * execution.shares,
                               cost + sign * execution.shares * execution.price)
    return [(spec, quantity, cost / quantity if quantity else Decimal(0))
            for spec, quantity, cost in totals.values()]
