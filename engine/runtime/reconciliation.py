"""Reconciliation: make the engine's books match what a venue says, by events.

After recovery and after every reconnect, the venue is asked (through its
`ExecutionClient`) for its open orders, the status of every order the engine believes
open, its trades since a time, its balances and its positions. `plan_reconciliation`
compares the answers with the engine's state and turns each difference into the event
that accounts for it; the node brings those events into the graph as journaled inputs
(so a replay repeats them), and strategies resume only after that. The planning is
synchronous and reads the graph without changing it: the graph changes only by the
events, through the same order manager and portfolio as any venue event.

What each difference becomes, in this order:

1. A trade in the venue's history that the engine has not booked (by trade id): an
   inferred `OrderFilled` (`inferred=True`) of its order.
2. A venue open order the engine knows: its missing filled quantity as an inferred fill
   (a synthesized trade `recon-<venue order>-<filled>` at the venue's average price, no
   commission: the balance correction below carries it); a submit in doubt becomes
   `OrderAccepted`; a pending or in-doubt cancel `OrderCancelRejected` (the venue still
   works it); a pending or in-doubt modify `OrderUpdated` with the venue's terms, or
   `OrderModifyRejected` when they are the old ones.
3. A venue open order the engine does not know: `ExternalOrderAdopted` under the
   strategy id `external`, then its fills.
4. An order open in the engine that the venue no longer works: its missing fills, then
   `OrderCanceled`, `OrderExpired` or `OrderRejected` as the venue's status says; one
   the venue has never seen was never sent (a crash between journal and wire, or a
   submit whose answer was lost and that never arrived): `OrderRejected`.
5. Trades of orders nobody knows: the order adopted as external, then its fills.
6. Balances that differ from the books after those fills: one `AccountState` with the
   venue's balances (the portfolio takes them and counts the corrections).
7. Venue-held positions (derivatives) that differ from the books: an inferred
   adjustment fill under `external` at the venue's entry price.

Anything the plan cannot settle (an accepted order the venue has no record of, a
position with no price) is left as it is, logged, and counted in `unresolved`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable
from decimal import Decimal
from typing import TypedDict

import msgspec

from engine.actors.orders import adopted_order_record
from engine.domain.enums import LiquiditySide, OrderSide, OrderStatus, OrderType
from engine.domain.ids import split_instrument_id
from engine.domain.order import Order
from engine.domain.reports import (
    AccountReport,
    FillReport,
    OrderStatusReport,
    PositionReport,
)
from engine.events.base import Event
from engine.events.fills import AccountBalance, AccountState, OrderFilled
from engine.events.orders import (
    EXTERNAL_STRATEGY_ID,
    ExternalOrderAdopted,
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderExpired,
    OrderModifyRejected,
    OrderRejected,
    OrderTriggered,
    OrderUpdated,
)
from engine.graph import TradingGraph
from engine.ports import ExecutionClient
from engine.topics import ORDERS_PROCESS, PORTFOLIO_PROCESS

__all__ = (
    "ReconciliationPlan",
    "ReconciliationReport",
    "VenueState",
    "fetch_venue_state",
    "engine_open_orders",
    "plan_reconciliation",
    "reconcile",
)

logger = logging.getLogger(__name__)

_ZERO = Decimal(0)
_NEVER_SENT = "never arrived at the venue (no record of it there)"


class VenueState(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a venue answered, gathered before planning."""

    venue: str
    open_orders: tuple[OrderStatusReport, ...]
    statuses: dict[str, OrderStatusReport | None]
    """Engine-open orders missing from `open_orders`, by client order id: None = unknown."""
    fills: tuple[FillReport, ...]
    account: AccountReport | None
    positions: tuple[PositionReport, ...]


class ReconciliationReport(msgspec.Struct, frozen=True, kw_only=True):
    """What one reconciliation with one venue found and did (one summary, logged)."""

    venue: str
    matched: int = 0
    inferred_fills: int = 0
    external_orders: int = 0
    closed_at_venue: int = 0
    never_arrived: int = 0
    in_doubt_resolved: int = 0
    balance_corrections: int = 0
    position_adjustments: int = 0
    unresolved: int = 0
    evicted_trades: int = 0
    """Trades of orders the order manager let go (retention), older than its watermark."""
    events: int = 0

    @property
    def agrees(self) -> bool:
        """True when the venue and the engine already agreed (nothing had to change)."""
        return self.events == 0 and self.unresolved == 0

    def summary(self) -> str:
        return (
            f"reconciliation with {self.venue}: {self.matched} open orders matched, "
            f"{self.inferred_fills} fills inferred, {self.external_orders} external orders, "
            f"{self.closed_at_venue} closed at the venue, {self.never_arrived} never arrived, "
            f"{self.in_doubt_resolved} in doubt resolved, {self.balance_corrections} "
            f"balances and {self.position_adjustments} positions corrected, "
            f"{self.unresolved} unresolved; {self.events} events"
            + (f"; {self.evicted_trades} trades of orders let go skipped"
               if self.evicted_trades else "")
        )


class ReconciliationPlan(msgspec.Struct, frozen=True, kw_only=True):
    """The events to bring in, each with the endpoint it goes to, in order."""

    events: tuple[tuple[str, Event], ...]
    report: ReconciliationReport


async def fetch_venue_state(
    client: ExecutionClient,
    graph: TradingGraph,
    *,
    since_ns: int,
    unsent: Collection[str] = (),
) -> VenueState:
    """Ask `client` everything `plan_reconciliation` compares (no command is sent).

    `unsent`: orders whose submit waits at the send gate; the venue cannot know them
    yet, so they are left out (not mistaken for submits that never arrived).
    """
    venue = client.venue
    open_reports = tuple(await client.open_orders())
    working = {r.client_order_id for r in open_reports if r.client_order_id}
    working_venue_ids = {r.venue_order_id for r in open_reports}
    statuses: dict[str, OrderStatusReport | None] = {}
    for order in engine_open_orders(graph, venue):
        if order.client_order_id in working or order.venue_order_id in working_venue_ids:
            continue
        if order.client_order_id in unsent:
            continue
        statuses[order.client_order_id] = await client.order_status(
            instrument_id=order.instrument_id,
            client_order_id=order.client_order_id,
            venue_order_id=order.venue_order_id,
        )
    fills = tuple(await client.fills_since(since_ns))
    account = await client.account()
    positions = tuple(await client.positions())
    return VenueState(venue=venue, open_orders=open_reports, statuses=statuses, fills=fills,
                      account=account, positions=positions)


def engine_open_orders(graph: TradingGraph, venue: str) -> list[Order]:
    """The orders the books hold open at `venue`: not those the order emulator holds in
    the engine (EMULATED), which the venue has never seen."""
    return [o for o in graph.orders.open_orders()
            if o.status is not OrderStatus.EMULATED
            and split_instrument_id(o.instrument_id)[1] == venue]


class _Planner:
    """One plan's working state: what is planned per order so far."""

    def __init__(self, graph: TradingGraph, state: VenueState, now_ns: int) -> None:
        self.graph = graph
        self.state = state
        self.now = now_ns
        self.events: list[tuple[str, Event]] = []
        self.planned_qty: dict[str, Decimal] = {}  # client id -> quantity planned filled
        self.planned_cost: dict[str, Decimal] = {}
        self.planned_trades: set[str] = set()
        self.cash: dict[str, Decimal] = {}  # currency -> change the planned fills make
        self.net: dict[str, Decimal] = {}  # instrument -> change of net position
        self.counts: dict[str, int] = {}

    def count(self, name: str, by: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + by

    # -- lookups -------------------------------------------------------------------------

    def order_for(self, client_order_id: str | None, venue_order_id: str) -> Order | None:
        orders = self.graph.orders
        if client_order_id:
            order = orders.order(client_order_id)
            if order is not None:
                return order
        return orders.order_by_venue_id(venue_order_id)

    def filled(self, order: Order) -> Decimal:
        return order.filled_quantity + self.planned_qty.get(order.client_order_id, _ZERO)

    # -- emitting ------------------------------------------------------------------------

    def emit(self, event: Event, endpoint: str = ORDERS_PROCESS) -> None:
        self.events.append((endpoint, event))

    def fill(
        self,
        *,
        strategy_id: str,
        client_order_id: str,
        instrument_id: str,
        venue_order_id: str,
        trade_id: str,
        side: OrderSide,
        quantity: Decimal,
        price: Decimal,
        commission: Decimal = _ZERO,
        commission_currency: str = "",
        liquidity_side: LiquiditySide = LiquiditySide.TAKER,
        ts_event: int = 0,
    ) -> None:
        instrument = self.graph.instruments.get(instrument_id)
        if instrument is None or not quantity > 0 or not price > 0:
            self.count("unresolved")
            logger.error("reconciliation: fill %s of %s cannot be booked (instrument, "
                         "quantity %s, price %s)", trade_id, instrument_id, quantity, price)
            return
        self.emit(OrderFilled(
            strategy_id=strategy_id, client_order_id=client_order_id,
            instrument_id=instrument_id, venue_order_id=venue_order_id, trade_id=trade_id,
            side=side, last_quantity=quantity, last_price=price, commission=commission,
            commission_currency=commission_currency or instrument.quote_currency,
            liquidity_side=liquidity_side, inferred=True,
            ts_event=ts_event or self.now, ts_init=self.now,
        ))
        self.count("inferred_fills")
        self.planned_trades.add(trade_id)
        self.planned_qty[client_order_id] = self.planned_qty.get(client_order_id, _ZERO) + quantity
        self.planned_cost[client_order_id] = (
            self.planned_cost.get(client_order_id, _ZERO) + quantity * price
        )
        sign = side.sign
        notional = quantity * price
        quote, base = instrument.quote_currency, instrument.base_currency
        self.cash[quote] = self.cash.get(quote, _ZERO) - sign * notional
        self.cash[base] = self.cash.get(base, _ZERO) + sign * quantity
        currency = commission_currency or quote
        self.cash[currency] = self.cash.get(currency, _ZERO) - commission
        self.net[instrument_id] = self.net.get(instrument_id, _ZERO) + sign * quantity

    def fill_from_report(self, order: Order, report: FillReport) -> None:
        self.fill(
            strategy_id=order.strategy_id, client_order_id=order.client_order_id,
            instrument_id=order.instrument_id, venue_order_id=report.venue_order_id,
            trade_id=report.trade_id, side=report.side, quantity=report.last_quantity,
            price=report.last_price, commission=report.commission,
            commission_currency=report.commission_currency,
            liquidity_side=report.liquidity_side, ts_event=report.ts_event,
        )

    def missing_fill(self, order: Order, report: OrderStatusReport) -> None:
        """Synthesize the filled quantity the venue reports and no trade accounts for."""
        missing = report.filled_quantity - self.filled(order)
        if missing <= 0:
            return
        known_cost = (order.average_fill_price or _ZERO) * order.filled_quantity + (
            self.planned_cost.get(order.client_order_id, _ZERO))
        price: Decimal | None = None
        if report.average_fill_price is not None:
            rest = report.average_fill_price * report.filled_quantity - known_cost
            price = rest / missing if rest > 0 else report.average_fill_price
        price = price or report.price or order.price
        if price is None:
            self.count("unresolved")
            logger.error("reconciliation: %s filled %s more at %s, at no known price",
                         order.client_order_id, missing, report.venue)
            return
        self.fill(
            strategy_id=order.strategy_id, client_order_id=order.client_order_id,
            instrument_id=order.instrument_id, venue_order_id=report.venue_order_id,
            trade_id=f"recon-{report.venue_order_id}-{report.filled_quantity}", side=order.side,
            quantity=missing, price=price, ts_event=report.ts_event,
        )


def plan_reconciliation(
    graph: TradingGraph, state: VenueState, *, now_ns: int
) -> ReconciliationPlan:
    """The events that make the graph's books match `state` (see the module docstring)."""
    plan = _Planner(graph, state, now_ns)
    orphans: dict[str, list[FillReport]] = {}  # venue order id -> trades of unknown orders
    # A long-open order pulls the window back past orders the order manager has let go
    # (retention): their trades, unknown now, are not external; the order manager would
    # refuse them as stale anyway. Skip them quietly, counted.
    evicted_through = graph.orders.evicted_through()
    for trade in sorted(state.fills, key=lambda f: (f.ts_event, f.trade_id)):
        order = plan.order_for(trade.client_order_id, trade.venue_order_id)
        if order is None and evicted_through is not None and trade.ts_event <= evicted_through:
            plan.count("evicted_trades")
        elif order is None:
            orphans.setdefault(trade.venue_order_id, []).append(trade)
        elif (not graph.orders.has_trade(order.client_order_id, trade.trade_id)
              and trade.trade_id not in plan.planned_trades):
            if plan.filled(order) + trade.last_quantity > order.quantity:
                plan.count("unresolved")
                logger.error("reconciliation: trade %s would overfill %s; not booked",
                             trade.trade_id, order.client_order_id)
                continue
            plan.fill_from_report(order, trade)

    for report in state.open_orders:
        order = plan.order_for(report.client_order_id, report.venue_order_id)
        if order is None:
            _adopt(plan, report, orphans.pop(report.venue_order_id, []))
        else:
            plan.count("matched")
            plan.missing_fill(order, report)
            _answer_open(plan, order, report)

    for client_order_id, status in state.statuses.items():
        order = graph.orders.order(client_order_id)
        if order is None:
            continue
        if status is None:
            _never_seen(plan, order)
        elif status.is_open:
            plan.count("matched")
            plan.missing_fill(order, status)
            _answer_open(plan, order, status)
        else:
            _closed_at_venue(plan, order, status)

    for venue_order_id in sorted(orphans):
        trades = orphans[venue_order_id]
        first = trades[0]
        adopted = ExternalOrderAdopted(
            strategy_id=EXTERNAL_STRATEGY_ID,
            client_order_id=first.client_order_id or f"ext-{venue_order_id}",
            instrument_id=first.instrument_id, venue_order_id=venue_order_id,
            side=first.side, order_type=OrderType.MARKET,
            quantity=sum((t.last_quantity for t in trades), _ZERO),
            ts_event=first.ts_event, ts_init=now_ns,
        )
        _adopt_with_fills(plan, adopted, trades, None)

    _balances(plan, state.account)
    _positions(plan, state.positions)
    counts = plan.counts
    summary = ReconciliationReport(
        venue=state.venue,
        matched=counts.get("matched", 0),
        inferred_fills=counts.get("inferred_fills", 0),
        external_orders=counts.get("external_orders", 0),
        closed_at_venue=counts.get("closed_at_venue", 0),
        never_arrived=counts.get("never_arrived", 0),
        in_doubt_resolved=counts.get("in_doubt_resolved", 0),
        evicted_trades=counts.get("evicted_trades", 0),
        balance_corrections=counts.get("balance_corrections", 0),
        position_adjustments=counts.get("position_adjustments", 0),
        unresolved=counts.get("unresolved", 0),
        events=len(plan.events),
    )
    return ReconciliationPlan(events=tuple(plan.events), report=summary)


class _OrderIds(TypedDict):
    """The ids every order event of one order carries."""

    strategy_id: str
    client_order_id: str
    instrument_id: str


def _ids(order: Order) -> _OrderIds:
    return {"strategy_id": order.strategy_id, "client_order_id": order.client_order_id,
            "instrument_id": order.instrument_id}


def _open_question(order: Order) -> str:
    """What the engine does not know about `order`: "submit", "cancel", "modify" or ""."""
    status = order.status
    if status is OrderStatus.SUBMITTED:
        return "submit"
    if status is OrderStatus.PENDING_CANCEL:
        return "cancel"
    if status is OrderStatus.PENDING_UPDATE:
        return "modify"
    if status is OrderStatus.IN_DOUBT:
        # The order manager records the operation first in the reason ("cancel outcome
        # unknown: ..."); a doubt from before any answer is about the submit.
        for operation in ("cancel", "modify"):
            if order.reason.startswith(operation):
                return operation
        return "submit"
    return ""


def _answer_open(plan: _Planner, order: Order, report: OrderStatusReport) -> None:
    """The venue works `order`: answer whatever question the engine still has about it."""
    now, status = plan.now, order.status
    question = _open_question(order)
    ts = report.ts_event or now
    if question == "submit":
        plan.emit(OrderAccepted(**_ids(order), venue_order_id=report.venue_order_id,
                                ts_event=ts, ts_init=now))
    elif question == "cancel":
        plan.emit(OrderCancelRejected(**_ids(order), reason="the venue still works the order",
                                      ts_event=ts, ts_init=now))
    elif question == "modify":
        if (report.quantity, report.price, report.trigger_price) != (
            order.quantity, order.price, order.trigger_price
        ) and report.quantity > plan.filled(order):
            plan.emit(OrderUpdated(**_ids(order), quantity=report.quantity, price=report.price,
                                   trigger_price=report.trigger_price,
                                   venue_order_id=report.venue_order_id,
                                   ts_event=ts, ts_init=now))
        else:
            plan.emit(OrderModifyRejected(**_ids(order), reason="the venue kept the old terms",
                                          ts_event=ts, ts_init=now))
    if question and status is OrderStatus.IN_DOUBT:
        plan.count("in_doubt_resolved")
    if report.status is OrderStatus.TRIGGERED and status is OrderStatus.ACCEPTED:
        plan.emit(OrderTriggered(**_ids(order), ts_event=report.ts_event or now, ts_init=now))


def _closed_at_venue(plan: _Planner, order: Order, report: OrderStatusReport) -> None:
    """The venue finished `order` while the engine looked away: book why."""
    now = plan.now
    if order.status is OrderStatus.IN_DOUBT:
        plan.count("in_doubt_resolved")
    plan.count("closed_at_venue")
    if _open_question(order) == "submit":
        plan.emit(OrderAccepted(**_ids(order), venue_order_id=report.venue_order_id,
                                ts_event=report.ts_event or now, ts_init=now))
    plan.missing_fill(order, report)
    ts = report.ts_event or now
    if report.status is OrderStatus.CANCELED:
        plan.emit(OrderCanceled(**_ids(order), ts_event=ts, ts_init=now))
    elif report.status is OrderStatus.EXPIRED:
        plan.emit(OrderExpired(**_ids(order), ts_event=ts, ts_init=now))
    elif report.status is OrderStatus.REJECTED:
        plan.emit(OrderRejected(**_ids(order), reason=report.reason or "rejected by the venue",
                                ts_event=ts, ts_init=now))
    elif plan.filled(order) < order.quantity:
        plan.count("unresolved")
        logger.error("reconciliation: %s is %s at %s but only %s of %s is accounted for",
                     order.client_order_id, report.status, report.venue, plan.filled(order),
                     order.quantity)


def _never_seen(plan: _Planner, order: Order) -> None:
    if _open_question(order) == "submit" or (
        order.status is OrderStatus.PENDING_CANCEL
        and order.previous_status is OrderStatus.SUBMITTED
    ):
        if order.status is OrderStatus.IN_DOUBT:
            plan.count("in_doubt_resolved")
        plan.count("never_arrived")
        plan.emit(OrderRejected(**_ids(order), reason=_NEVER_SENT, ts_event=plan.now,
                                ts_init=plan.now))
        return
    plan.count("unresolved")
    logger.error("reconciliation: %s was %s but %s has no record of it; left as it is",
                 order.client_order_id, order.status, plan.state.venue)


def _adopt(plan: _Planner, report: OrderStatusReport, trades: list[FillReport]) -> None:
    adopted = ExternalOrderAdopted(
        strategy_id=EXTERNAL_STRATEGY_ID,
        client_order_id=report.client_order_id or f"ext-{report.venue_order_id}",
        instrument_id=report.instrument_id, venue_order_id=report.venue_order_id,
        side=report.side, order_type=report.order_type, quantity=report.quantity,
        price=report.price, trigger_price=report.trigger_price,
        time_in_force=report.time_in_force, ts_event=report.ts_event or plan.now,
        ts_init=plan.now,
    )
    _adopt_with_fills(plan, adopted, trades, report)


def _adopt_with_fills(
    plan: _Planner,
    adopted: ExternalOrderAdopted,
    trades: Iterable[FillReport],
    report: OrderStatusReport | None,
) -> None:
    if plan.graph.instruments.get(adopted.instrument_id) is None:
        plan.count("unresolved")
        logger.error("reconciliation: external order %s of %s, an instrument this engine "
                     "does not trade; not adopted", adopted.venue_order_id,
                     adopted.instrument_id)
        return
    plan.emit(adopted)
    plan.count("external_orders")
    order = adopted_order_record(adopted)
    for trade in trades:
        if trade.trade_id not in plan.planned_trades:
            plan.fill_from_report(order, trade)
    if report is not None:
        plan.missing_fill(order, report)


def _balances(plan: _Planner, account: AccountReport | None) -> None:
    if account is None or not account.balances:
        return
    portfolio = plan.graph.portfolio
    differing = [
        balance.currency for balance in account.balances
        if portfolio.balance(balance.currency) + plan.cash.get(balance.currency, _ZERO)
        != balance.total
    ]
    if not differing:
        return
    plan.count("balance_corrections", len(differing))
    plan.emit(AccountState(
        venue=account.venue, account_id=account.account_id,
        balances=tuple(AccountBalance(currency=b.currency, total=b.total, free=b.free,
                                      locked=b.locked) for b in account.balances),
        margin_used=account.margin_used, margin_available=account.margin_available,
        ts_event=account.ts_event or plan.now, ts_init=plan.now,
    ), PORTFOLIO_PROCESS)


def _positions(plan: _Planner, positions: Iterable[PositionReport]) -> None:
    portfolio = plan.graph.portfolio
    for report in positions:
        booked = portfolio.net_quantity(report.instrument_id) + plan.net.get(
            report.instrument_id, _ZERO)
        difference = report.quantity - booked
        if difference == 0:
            continue
        price = report.average_entry_price
        if price is None:
            last = plan.graph.cache.last_price(report.instrument_id)
            price = Decimal(str(last)) if last is not None else None
        if price is None or not price > 0:
            plan.count("unresolved")
            logger.error("reconciliation: position of %s differs by %s at %s, no price to "
                         "book it at", report.instrument_id, difference, report.venue)
            continue
        plan.count("position_adjustments")
        venue_order_id = f"recon-position-{report.instrument_id}-{plan.now}"
        plan.fill(
            strategy_id=EXTERNAL_STRATEGY_ID, client_order_id=f"ext-{venue_order_id}",
            instrument_id=report.instrument_id, venue_order_id=venue_order_id,
            trade_id=venue_order_id, side=OrderSide.BUY if difference > 0 else OrderSide.SELL,
            quantity=abs(difference), price=price, ts_event=report.ts_event,
        )


async def reconcile(
    client: ExecutionClient,
    graph: TradingGraph,
    *,
    since_ns: int,
    now_ns: int,
    inject: Callable[[Event, str], None],
    unsent: Collection[str] = (),
) -> ReconciliationReport:
    """Ask the venue, plan, and bring every planned event in through `inject(event,
    endpoint)` (the live runner's, so each is journaled as an input). Logs one summary.
    `unsent` as for `fetch_venue_state`."""
    state = await fetch_venue_state(client, graph, since_ns=since_ns, unsent=unsent)
    plan = plan_reconciliation(graph, state, now_ns=now_ns)
    for endpoint, event in plan.events:
        inject(event, endpoint)
    report = plan.report
    if report.agrees:
        logger.info("%s", report.summary())
    else:
        logger.warning("%s", report.summary())
    return report
