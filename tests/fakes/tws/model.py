"""What the fake gateway knows (its contracts, the orders placed with it, their executions)
and the rules it applies to them (validation, fills, cash and positions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

__all__ = (
    "ContractSpec",
    "FakeExecution",
    "FakeOrder",
    "cash",
    "default_contracts",
    "fillable",
    "positions",
    "validation_error",
)


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
    """An order placed through the gateway: its terms as placed and what became of it."""

    order_id: int
    client_id: int
    perm_id: int
    contract: ContractSpec
    action: str  # BUY or SELL
    quantity: Decimal
    order_type: str  # MKT, LMT, STP, STP LMT
    limit_price: Decimal | None
    aux_price: Decimal | None
    tif: str
    account: str
    order_ref: str
    status: str = "Submitted"
    filled: Decimal = Decimal(0)
    notional: Decimal = Decimal(0)
    triggered: bool = False
    executions: list[FakeExecution] = field(default_factory=list)

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.filled

    @property
    def average_price(self) -> Decimal:
        return self.notional / self.filled if self.filled else Decimal(0)

    @property
    def is_working(self) -> bool:
        return self.status in ("PreSubmitted", "Submitted")


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


def validation_error(spec: ContractSpec, quantity: Decimal, limit_price: Decimal | None,
                     aux_price: Decimal | None) -> tuple[int, str] | None:
    """The error code and text the gateway answers a new order's terms with, if any."""
    if quantity <= 0:
        return 434, "The order size cannot be zero."
    if quantity % spec.size_increment:
        return 201, ("Order rejected - reason:The order size is not a multiple of the "
                     f"size increment {spec.size_increment}")
    for price in (limit_price, aux_price):
        if price is not None and price % spec.min_tick:
            return 110, ("The price does not conform to the minimum price variation for "
                         "this contract.")
    return None


def fillable(order: FakeOrder, price: Decimal) -> bool:
    """Whether a trade at `price` fills `order` (a stop it reaches is triggered first)."""
    buy = order.action == "BUY"
    if order.order_type in ("STP", "STP LMT") and not order.triggered:
        trigger = order.aux_price
        if trigger is None or not ((price >= trigger) if buy else (price <= trigger)):
            return False
        order.triggered = True
    if order.order_type in ("MKT", "STP"):
        return True
    limit = order.limit_price
    return limit is not None and ((price <= limit) if buy else (price >= limit))


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
