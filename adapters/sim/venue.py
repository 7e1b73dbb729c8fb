"""SimVenue: a simulated exchange that fills orders against the market data the graph sees.

It registers `venue_endpoint(config.venue)`, takes SubmitOrder, CancelOrder and
ModifyOrder there, and sends the order events back to `ORDERS_PROCESS` (the order
manager applies and publishes them). Every rule below is deterministic, so a user can
predict every fill.

When orders match
    The kernel calls `process_market_data(item)` with each Bar, TradeTick and QuoteTick before
    the graph sees it. An order is matched against items handed over after it was
    accepted: decided at bar t's close, it fills from bar t+1 on. A bar must also close
    after the acceptance time (`bar.ts_event > accepted`), so a bar of another
    instrument ending at the decision time never fills it with prices from before the
    decision. Items of other instruments do nothing; with `bar_timeframe` set, only bars
    of that timeframe match. Within an item, orders are matched in acceptance order (a
    modified order keeps its place), each against the whole item: orders do not share
    liquidity. The item's events are sent once every order has been matched, so a
    reaction to one (a strategy cancelling another order) sees the venue after the item.
    Items with a non-finite price are skipped.

Order lists
    The engine holds OCO, OTO and bracket lists (`engine.actors.contingency`): this venue
    sees plain orders that carry their list's links, and no native OCO is used. One rule
    stands in for time inside an item: once an order of an OCO pair (an OCO list's
    legs, a bracket's stop-loss and take-profit with follow-ups) fills on an item, the
    others of its pair are not matched on that item. The engine shrinks or cancels them
    in reaction to that fill, which on a real venue reaches it before the next trade; a
    bar cannot say which of its prices traded first, so a bar reaching both a
    take-profit and a stop-loss fills the one accepted first (a bracket's stop-loss:
    the conservative outcome).

Prices
    Market-data floats become Decimal via `to_decimal`, rounded to the price increment;
    then all comparisons are exact. Order prices and triggers must be on the increment.
    On a bar, for a buy (a sell mirrors it: high for low, <= for >=):

    - market: at the open, taker.
    - limit P: open <= P: at the open, taker (the open crossed it); else low <= P: at
      P, maker; else no fill.
    - post-only limit P: as a limit, but always maker (it never takes).
    - stop-market T: open >= T: at the open; else high >= T: at T; taker.
    - stop-limit T, P: triggers like a stop-market (OrderTriggered) at the open or at T,
      the trigger price. On that bar it fills only if the trigger price <= P, at the
      trigger price, taker; otherwise it rests as a limit P from the next item on.
    - market-if-touched T: the mirror of a stop: open <= T: at the open; else low <= T:
      at T; taker. A gap fills at the open, never at T.
    - limit-if-touched T, P: triggers like a market-if-touched (OrderTriggered), then
      as a stop-limit: on that bar at the trigger price if that is <= P (taker), else
      it rests as a limit P from the next item on.
    - trailing-stop-market, offset d: a stop whose trigger T follows the market: after
      every price p the order sees, T = min(T, p + d) (a sell: T = max(T, p - d)), so it
      only moves in the order's favour. Inside a bar the prices are taken in the bar's
      path, open -> low -> high -> close when close >= open, else open -> high -> low
      -> close, checking T before moving it at each point: T passed at the open is a
      gap and fills at the open; T reached later fills at T, taker. A move is reported
      as OrderUpdated(trigger_price) when T changes, at the item's (a bar's close) time.
      The first T is the order's `trigger_price`; without one the venue sets it from
      the last known price at acceptance (an OrderUpdated), or from the first price it
      matches. d is the offset in its unit: a price, ticks × the price increment, or
      basis points of p rounded up to the increment (never nearer than asked).
    - trailing-stop-limit, offsets d and l: trails like a trailing-stop-market, with a
      limit P = T + l (a sell: T - l; basis points of T) moved with it (OrderUpdated
      carries both). It triggers (OrderTriggered) like a trailing-stop-market, then
      fills as a stop-limit with limit P.

    Trigger types: DEFAULT triggers (and trails) on every kind of item, LAST on bars
    and trades only, BID_ASK on quotes only (a buy the ask, a sell the bid); once
    triggered an order fills on any item. MARK is rejected: no data carries a mark price.

    Trade ticks: market and stop orders match as on a bar whose open, high and low are
    the trade's price; a limit (or triggered stop-limit) fills at P, maker, when a trade
    prints at or through P. Quote ticks: a buy sees the ask, a sell the bid, as a bar
    whose open, high and low are that price: market orders and limits at or through the
    ask fill at the ask (taker; maker for post-only).

Order books
    An instrument with an L2 book (the MarketCache's) is matched against the book, the
    finest data: market and limit orders (and triggered stops) meet it when accepted and
    on every later item, by the rules of `adapters.sim.book_matching` (walk the levels,
    liquidity taken remembered, resting fills by `resting_fills`); its quotes and bars
    then fill nothing. Stop-market and stop-limit orders trigger on its trades and bars
    and on the book's touch (`book_triggers`), then walk the book like a market or
    limit order: in a gap, at the first price the book has. `docs/order-books.md` summarizes them.

Times
    Events carry `ts_init` = the clock's time. A fill or trigger at a bar's open gets
    `ts_event` = the open time (`bar.ts_event - bar.bar_type.step_ns`), one inside the
    bar gets the bar's close time `bar.ts_event` (a bar cannot say when inside it a
    price traded); a tick's events get its `ts_event`. No fill's `ts_event` is before
    its order's acceptance time. IOC cancellations get the item's `ts_event`,
    expiries the order's `expire_ns`.

Latency
    With `command_latency_ns` a command is handled that long after it was sent (its
    acceptance time is its arrival), in the order sent; with `event_latency_ns` every
    event reaches `ORDERS_PROCESS` that long after the venue made it, its `ts_init` then
    the time it arrived (`adapters.sim.latency`). Both are engine timers, so they fire
    between items at their own times, before an item at the same time.

Quantities and fees
    Without `max_volume_fraction` an order fills entirely on the item that reaches it.
    With it, each fill takes at most fraction × the item's volume (a bar's volume, a
    trade's size, the ask size for a buy, the bid size for a sell), rounded down to
    the size increment; the rest stays working (a triggered stop-market then matches as
    a market order, at the next item's open). Against an L2 book it caps what fills take
    of each level (f × its size, until the feed changes it) and of each trade.
    Commission is the instrument's `maker_fee` or `taker_fee` × quantity × price, exact,
    in the quote currency.

Time in force
    GTC (default) works until filled or canceled. IOC and FOK orders, of any type, get
    exactly one matching item: what does not fill on it is canceled (FOK fills entirely
    or not at all, so a volume cap that leaves it short cancels it unfilled). GTD orders
    need `expire_ns` after the current time, and expire, before matching, on the first
    item of their instrument whose `ts_event` (a bar's close) is >= `expire_ns`. DAY
    orders expire the same way at the end of the UTC day of their acceptance (the next
    midnight of engine time; instruments carry no trading session yet): a 1m bar
    closing at midnight expires it, so it never fills on that bar.

Rejections
    An order is rejected for: a client_order_id the venue has seen before (an order
    working here, one filled, canceled or expired, or one it rejected: a client order id
    names one order, so a resubmission after a lost answer never makes a second), an
    unknown instrument or one of another venue, a quantity <= 0, off the size increment or
    below the minimum, a missing or off-increment price (limit, stop-limit,
    limit-if-touched) or trigger (stop, if-touched), a trailing stop without a
    trailing offset > 0 (a trailing-stop-limit also without a limit offset >= 0), with
    a price, an off-increment trigger, or a fractional tick offset; the MARK trigger
    type; a reduce-only order facing no opposite position (below),
    post-only on a market or stop-market order, a post-only limit at or through the
    last known price (a bar's close, a trade's price, a quote's mid: the MarketCache's
    view), a GTD order without a future `expire_ns`. Cancel and modify of an order that
    is not working here are rejected; so is a modify to a quantity not above the filled
    quantity, a price or trigger the order type lacks, a trigger on a triggered order,
    a price or trigger of a trailing stop (the venue moves them), or a post-only price
    that would take.

Perpetuals
    Instruments of class PERPETUAL pay funding on each `FundingRate` item (a
    `FundingPayment` per open position, sent to `PORTFOLIO_PROCESS` at once, latency or
    not). With `margin` the venue keeps a margin account (`adapters.sim.margin`): submits
    beyond the free margin are rejected, and after each item of a perpetual an account
    below maintenance is liquidated at the item's worst price. A venue trading no
    perpetual never takes this path.

Reduce-only
    The venue keeps the net position per strategy and instrument from the fills it sent:
    each strategy trades here as a sub-account of its own (the engine nets strategies
    in one account, and a venue netting them would refuse one strategy's close while
    another holds the opposite side; the risk actor checks the same position). A
    reduce-only order facing a flat position, or one on its own side, is rejected. Its
    fills are capped at the position it faces, so it never increases or flips one: a
    remainder the position can no longer take (after its own fill, or once other fills
    closed the position) is canceled with OrderCanceled(reason=...). A fill-or-kill
    larger than the position fills nothing and is canceled. Against an L2 book the same
    holds: the book matcher fills a reduce-only order at most what its position can
    take, each fill is capped again as it is booked (two such orders on one item take
    the position once between them), and one facing no position any more is canceled
    on the next item.

Queries
    The venue keeps a record of every order it accepted, working or closed, and the
    fills it sent, and answers the reconciliation queries of the execution-client port
    from them (`order_report`, `open_order_reports`, `fill_reports`; the port itself is
    `adapters.sim.client.SimExecutionClient`). A rejected order made no order, so it
    has no venue order id and no status report: only its client id is remembered. The
    records grow with the orders of a session (not with its bars); in a backtest nothing
    is pruned. Under a retention policy (`retain`, the daemon's) a closed or rejected
    order's record, and its fills, go once more than `closed_orders` records are held or
    it closed `late_fill_horizon_s` of engine time ago, whichever comes first (so never
    after the order manager lets its order go, `engine.actors.retention`); its client
    order id may then be used again.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import partial
from typing import ClassVar, Final, TypeAlias

import msgspec

from adapters.sim.account import CashAccount, Hold
from adapters.sim.book_matching import BookMatcher, book_triggers, takes_from_book
from adapters.sim.config import SimVenueConfig
from adapters.sim.fee_tiers import FeeTiers
from adapters.sim.fees import commission
from adapters.sim.fill_models import Slippage, touch_fills
from adapters.sim.latency import DelayLine, DelayLineState
from adapters.sim.matching import (
    LIMIT_ONCE_TRIGGERED,
    TRAILING,
    MarketData,
    MarketItem,
    Match,
    OrderTerms,
    fill_quantity,
    market_item,
)
from adapters.sim.perpetuals import PerpetualsDesk
from adapters.sim.records import (
    ClosedOrder,
    WorkingOrder,
    modify_rejection,
    reduce_only_rejection,
    submit_rejection,
)
from adapters.sim.reports import fill_report, order_status_report
from adapters.sim.snapshot import (
    CLOSED,
    REJECTED,
    WORKING,
    SimVenueSnapshot,
    WorkingOrderState,
    working_order,
    working_state,
)
from adapters.sim.trailing import initial_trailing_terms
from engine.actor import Actor, ActorState
from engine.actors.retention import RetentionConfig
from engine.cache import MarketCache
from engine.domain.enums import (
    ALL_ORDER_TYPES,
    ContingencyType,
    LiquiditySide,
    OrderSide,
    OrderStatus,
    OrderType,
)
from engine.domain.money import ZERO, price_from_float, to_decimal
from engine.domain.order_book import OrderBook
from engine.domain.reports import BalanceReport, FillReport, OrderStatusReport, PositionReport
from engine.domain.triggers import retrailed_trigger
from engine.events.base import Event
from engine.events.fills import OrderFilled
from engine.events.market import Bar, BookDelta, FundingRate, Instrument
from engine.events.orders import (
    CancelOrder,
    ExternalOrderAdopted,
    ModifyOrder,
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderExpired,
    OrderModifyRejected,
    OrderRejected,
    OrderTriggered,
    OrderUpdated,
    SubmitOrder,
)
from engine.events.system import TimerFired
from engine.instruments import InstrumentRegistry
from engine.snapshot import counters_of, set_counters
from engine.topics import ORDERS_PROCESS, PORTFOLIO_PROCESS, segment, venue_endpoint

# SimVenueConfig (adapters.sim.config) and the snapshot types (adapters.sim.snapshot) were
# defined here before the split: still importable from here.
__all__ = (
    "SimVenue",
    "SimVenueConfig",
    "SimVenueSnapshot",
    "SimVenueStatistics",
    "WorkingOrderState",
)

logger = logging.getLogger(__name__)

# Enum members as module constants: a class attribute lookup on an enum costs ten times more.
_CANCELED: Final = OrderStatus.CANCELED
_EXPIRED: Final = OrderStatus.EXPIRED
_FILLED: Final = OrderStatus.FILLED
_BUY: Final = OrderSide.BUY
_INBOUND, _OUTBOUND = "latency_inbound", "latency_outbound"  # the latency legs' timers
VenueData: TypeAlias = MarketData | BookDelta | FundingRate
"""What the venue matches against: bars, trades, quotes and L2 book deltas."""


class SimVenueStatistics(msgspec.Struct, frozen=True, kw_only=True):
    orders_received: int
    orders_accepted: int
    orders_rejected: int
    orders_triggered: int
    orders_filled: int
    orders_canceled: int
    orders_expired: int
    orders_working: int
    fills: int
    cancels_rejected: int
    modifies_accepted: int
    modifies_rejected: int
    duplicates_rejected: int
    """Submissions refused because their client_order_id was already used here."""
    liquidations: int = 0
    """Times the margin account fell below maintenance and its positions were closed."""
    funding_payments: int = 0


_COUNTERS = (
    "_working", "_order_count", "_trade_count", "_received", "_accepted", "_rejected",
    "_triggered", "_filled", "_canceled", "_expired", "_fills", "_cancels_rejected",
    "_modifies_accepted", "_modifies_rejected", "_duplicates_rejected", "_model_draws",
    "_liquidation_count", "_liquidations", "_funding_count",
)
class SimVenue(Actor):
    """Fill orders against market data by the rules in this module's docstring.

    Args:
        config: venue name, volume cap, bar timeframe.
        instruments: the graph's registry; orders for instruments not in it are rejected.
        cache: the graph's MarketCache, read for the last price (post-only checks). When
            None the venue keeps its own, updated on every item: passing the kernel's
            keeps the idle path of `process_market_data` at one branch.
    """

    # Bound once in __init__ to the right implementation (shared cache or own), so the
    # per-item call is one direct call.
    process_market_data: Callable[[VenueData], None]

    def __init__(
        self,
        config: SimVenueConfig,
        instruments: InstrumentRegistry,
        *,
        cache: MarketCache | None = None,
        starting_balances: Mapping[str, Decimal] | None = None,
    ) -> None:
        super().__init__(f"venue_{segment(config.venue)}")
        if config.cash_account and starting_balances is None:
            raise ValueError("cash_account: the venue needs the account's starting balances")
        if config.margin is not None and starting_balances is None:
            raise ValueError("margin: the venue needs the account's starting balances")
        self._fee_tiers = (FeeTiers(config.fee_tiers, config.fee_window_days)
                           if config.fee_tiers else None)
        self._slippage = (Slippage(config.slippage_ticks, config.slippage_probability,
                                   config.slippage_seed)
                          if config.slippage_ticks and config.slippage_probability else None)
        self._bar_models = self._slippage is not None or config.touch_fill_probability < 1
        self._account = (
            CashAccount(starting_balances, taker_fee=max(t.taker for t in config.fee_tiers)
                        if config.fee_tiers else None)
            if config.cash_account and starting_balances is not None else None)
        self._config = config
        self._venue = config.venue
        self._order_types = (None if config.order_types is None
                             else frozenset(config.order_types))
        self._instruments = instruments
        fraction = config.max_volume_fraction
        self._fraction = None if fraction is None else to_decimal(fraction)
        self._bar_timeframe = config.bar_timeframe
        self._books: dict[str, list[WorkingOrder]] = {}  # instrument id -> acceptance order
        # Every client order id seen, in arrival order: its working order, the record of
        # its closed one (what the queries answer from), or None when it was rejected.
        # One dict, so a submit still costs one lookup and one insert.
        self._orders: dict[str, WorkingOrder | ClosedOrder | None] = {}
        self._working = 0
        self._fill_events: list[OrderFilled] = []  # the trade history, in the order sent
        # The account's net position per instrument, from the fills sent (reduce-only).
        # (strategy id, instrument id) -> net position, from the fills sent (reduce-only).
        self._positions: dict[tuple[str, str], Decimal] = {}
        self._order_count = 0
        self._trade_count = 0
        self._model_draws = 0  # draws of the fill models (adapters.sim.fill_models) so far
        self._received = self._accepted = self._rejected = self._triggered = 0
        self._filled = self._canceled = self._expired = self._fills = 0
        self._cancels_rejected = self._modifies_accepted = self._modifies_rejected = 0
        self._duplicates_rejected = 0
        # Retention (None: keep every record, as a backtest does; see `retain`).
        self._retention: RetentionConfig | None = None
        self._closed_ids: deque[tuple[int, str]] = deque()
        self._fill_counts: dict[str, int] = {}  # venue order id -> its fills in the list
        self._dead_fills = 0  # fills in the list of records already let go
        self._book_matcher = BookMatcher(config.resting_fills, self._fraction)
        self._inbound: DelayLine[SubmitOrder | CancelOrder | ModifyOrder] | None = (
            DelayLine(config.command_latency_ns) if config.command_latency_ns else None)
        self._outbound: DelayLine[Event] | None = (
            DelayLine(config.event_latency_ns) if config.event_latency_ns else None)
        # Where the venue's answers go: straight to the order manager, or on their way
        # (chosen at `on_start`, once the bus is there to bind).
        self._emit: Callable[[Event], None]
        if cache is None:
            self._cache = MarketCache()
            self.process_market_data = self._track_and_match
        else:
            self._cache = cache
            self.process_market_data = self._match_market_data
        # Perpetuals (funding; with `margin`, the margin account and liquidation): only a
        # venue that trades one pays for the check after each item.
        self._desk = PerpetualsDesk(config.venue, instruments, config.margin,
                                    starting_balances)
        self._margin = self._desk.account  # None without `margin`
        self._liquidation_count = 0  # liquidation orders (one per position closed)
        self._liquidations = 0  # times the account was liquidated
        self._funding_count = 0
        if self._desk.ids:
            self._match_plain = self.process_market_data
            self.process_market_data = self._match_perpetuals
        # A venue with its own cache, or paying funding, sees every item; a plain one
        # only while an order works (`MarketDrivenVenue.matching`).
        self._always_matching = self.process_market_data != self._match_market_data
        self.matching = self._always_matching

    def on_start(self) -> None:
        self.register_endpoint(venue_endpoint(self._venue))
        self._emit = (partial(self._bus.send, ORDERS_PROCESS) if self._outbound is None
                      else self._answer_later)

    def retain(self, policy: RetentionConfig) -> None:
        """Keep the records of closed orders only within `policy`'s window (the daemon's)."""
        self._retention = policy

    # -- snapshots (engine.snapshot) ------------------------------------------------------

    snapshot_type: ClassVar[type[msgspec.Struct]] = SimVenueSnapshot

    def snapshot_state(self) -> SimVenueSnapshot:
        order_ids: list[tuple[str, int]] = []
        working: dict[str, WorkingOrderState] = {}
        closed: dict[str, ClosedOrder] = {}
        for client_id, order in self._orders.items():
            if type(order) is WorkingOrder:
                order_ids.append((client_id, WORKING))
                working[client_id] = working_state(order)
            elif type(order) is ClosedOrder:
                order_ids.append((client_id, CLOSED))
                closed[client_id] = order
            else:
                order_ids.append((client_id, REJECTED))
        ids_of = {id(order): cid for cid, order in self._orders.items() if order is not None}
        return SimVenueSnapshot(
            order_ids=order_ids,
            working=working,
            closed=closed,
            # A book may still hold orders closed since its last item (it is settled
            # lazily, on the next item, which skips them): only the working ones count.
            books={instrument: ids for instrument, book in self._books.items()
                   if (ids := [ids_of[id(order)] for order in book if order.working])},
            fill_events=list(self._fill_events),
            own_cache=(dict(self._cache.last)
                       if self.process_market_data == self._track_and_match else None),
            counters=counters_of(self, _COUNTERS),
            closed_ids=list(self._closed_ids),
            positions=[(sid, iid, net) for (sid, iid), net in self._positions.items()
                       if net != ZERO],
            book_matching=self._book_matcher.state(),
            own_books=(self._cache.book_states()
                       if self.process_market_data == self._track_and_match else []),
            account=self._account.state() if self._account is not None else None,
            fee_tiers=self._fee_tiers.state() if self._fee_tiers is not None else None,
            inbound=self._inbound.state() if self._inbound is not None else None,
            outbound=(self._outbound.state()  # type: ignore[arg-type]  # events are messages
                      if self._outbound is not None else None),
            margin=self._margin.state() if self._margin is not None else None,
        )

    def restore_state(self, state: SimVenueSnapshot) -> None:
        working = {cid: working_order(order) for cid, order in state.working.items()}
        orders: dict[str, WorkingOrder | ClosedOrder | None] = {}
        for client_id, kind in state.order_ids:
            orders[client_id] = (working[client_id] if kind == WORKING
                                 else state.closed[client_id] if kind == CLOSED else None)
        self._orders = orders
        self._books = {instrument: [working[cid] for cid in ids]
                       for instrument, ids in state.books.items()}
        self.matching = self._always_matching or bool(self._books)
        self._fill_events = list(state.fill_events)
        if state.own_cache is not None:
            self._cache.last = dict(state.own_cache)
            self._cache.restore_books(state.own_books)
        if state.book_matching is not None:
            self._book_matcher.restore(state.book_matching)
        if self._account is not None:
            if state.account is None:
                raise ValueError("snapshot: the venue keeps a cash account, the snapshot has none")
            self._account.restore(state.account)
        if self._fee_tiers is not None:
            if state.fee_tiers is None:
                raise ValueError("snapshot: the venue prices fills by fee tiers, the snapshot "
                                 "has no volume window")
            self._fee_tiers.restore(state.fee_tiers)
        if self._margin is not None:
            if state.margin is None:
                raise ValueError("snapshot: the venue keeps a margin account, the snapshot "
                                 "has none")
            self._margin.restore(state.margin)
        for line, in_flight, name in ((self._inbound, state.inbound, "command_latency_ns"),
                                      (self._outbound, state.outbound, "event_latency_ns")):
            if line is not None:
                line.restore(in_flight or DelayLineState())  # type: ignore[arg-type]
            elif in_flight is not None and in_flight.in_flight:
                raise ValueError(f"snapshot: {len(in_flight.in_flight)} messages in flight "
                                 f"with the venue, which has no {name} now (they would be lost)")
        set_counters(self, state.counters, _COUNTERS)
        if state.positions is not None:
            self._positions = {(sid, iid): net for sid, iid, net in state.positions}
        else:
            self._positions = {}
            for fill in self._fill_events:
                self._book_position(fill.strategy_id, fill.instrument_id, fill.side,
                                    fill.last_quantity)
        self._closed_ids = deque(state.closed_ids)
        self._fill_counts = {}
        self._dead_fills = 0
        if self._retention is not None:
            if not state.closed_ids:  # a snapshot made without retention: oldest first
                self._closed_ids = deque(sorted(
                    (0 if record is None else record.updated_ns, client_id)
                    for client_id, record in orders.items() if type(record) is not WorkingOrder))
            held = self._held_venue_ids()
            for fill in self._fill_events:
                if fill.venue_order_id in held:
                    counts = self._fill_counts
                    counts[fill.venue_order_id] = counts.get(fill.venue_order_id, 0) + 1
                else:
                    self._dead_fills += 1

    @property
    def config(self) -> SimVenueConfig:
        return self._config

    @property
    def venue(self) -> str:
        """The venue's name (`config.venue`)."""
        return self._venue

    def native_order_types(self, instrument_id: str) -> frozenset[OrderType]:
        """The types this venue places (`order_types`; every type by default): the graph
        has the order emulator hold the others (`TradingGraph.add_venue`)."""
        return ALL_ORDER_TYPES if self._order_types is None else self._order_types

    def working_order_ids(self) -> list[str]:
        """Client order ids of the orders working here (what reconciliation compares)."""
        return sorted(cid for cid, order in self._orders.items() if type(order) is WorkingOrder)

    def statistics(self) -> SimVenueStatistics:
        """Counters since construction, and the orders working now."""
        return SimVenueStatistics(
            orders_received=self._received,
            orders_accepted=self._accepted,
            orders_rejected=self._rejected,
            orders_triggered=self._triggered,
            orders_filled=self._filled,
            orders_canceled=self._canceled,
            orders_expired=self._expired,
            orders_working=self._working,
            fills=self._fills,
            cancels_rejected=self._cancels_rejected,
            modifies_accepted=self._modifies_accepted,
            modifies_rejected=self._modifies_rejected,
            duplicates_rejected=self._duplicates_rejected,
            liquidations=self._liquidations,
            funding_payments=self._funding_count,
        )

    # -- queries (the execution-client port's reports) -----------------------------------

    def order_report(
        self, *, client_order_id: str | None = None, venue_order_id: str | None = None
    ) -> OrderStatusReport | None:
        """Return one order, working or closed, or None when no order here has that id.

        The venue order id decides when both are given (it is the venue's own key); a
        rejected order has no report (it never became an order).

        Raises:
            ValueError: neither id was given.
        """
        if venue_order_id is not None:  # a scan: queries are rare, submits are not
            order = next((o for o in self._orders.values()
                          if o is not None and o.venue_order_id == venue_order_id), None)
        elif client_order_id is not None:
            order = self._orders.get(client_order_id)
        else:
            raise ValueError("order_report: needs a client_order_id or a venue_order_id")
        if order is None:
            return None
        fills = [fill for fill in self._fill_events if fill.venue_order_id == order.venue_order_id]
        return order_status_report(order, fills, self._venue)

    def open_order_reports(self, instrument_id: str | None = None) -> list[OrderStatusReport]:
        """Return the orders working now (of `instrument_id` when given), oldest first."""
        orders = [
            order for order in self._orders.values()
            if type(order) is WorkingOrder
            and (instrument_id is None or order.command.instrument_id == instrument_id)
        ]
        fills: dict[str, list[OrderFilled]] = {order.venue_order_id: [] for order in orders}
        for fill in self._fill_events:
            of_order = fills.get(fill.venue_order_id)
            if of_order is not None:
                of_order.append(fill)
        return [order_status_report(order, fills[order.venue_order_id], self._venue)
                for order in orders]

    def balance_reports(self) -> list[BalanceReport] | None:
        """The cash account's balances, currency by currency (locked: what open orders
        hold), or the margin account's (its balances, free: margin is no lock); None
        with neither, where the venue keeps no balances."""
        margin = self._margin
        if margin is not None:
            return [BalanceReport(currency=currency, total=total, free=total, locked=ZERO)
                    for currency, total in sorted(margin.balances.items())]
        account = self._account
        if account is None:
            return None
        return [BalanceReport(currency=currency, total=total, free=account.free(currency),
                              locked=account.held(currency))
                for currency, total in sorted(account.balances().items())]

    def position_reports(self) -> list[PositionReport]:
        """The margin account's net perpetual positions (none without `margin`: spot
        positions are balances), for reconciliation to compare with the books."""
        margin = self._margin
        if margin is None:
            return []
        reports: list[PositionReport] = []
        for instrument_id in sorted(self._desk.ids):
            quantity = margin.net(instrument_id)
            if quantity:
                reports.append(PositionReport(
                    venue=self._venue, instrument_id=instrument_id, quantity=quantity,
                    average_entry_price=margin.net_cost(instrument_id) / quantity,
                    ts_event=self._clock.timestamp_ns()))
        return reports

    def fill_reports(self, ts_ns: int = 0, instrument_id: str | None = None) -> list[FillReport]:
        """Return the fills with `ts_event >= ts_ns` (of `instrument_id`), oldest first.

        Sorted by venue time, stably: within one bar a fill inside it (at its close time)
        can be sent before another order's fill at its open.
        """
        held = self._held_venue_ids() if self._dead_fills else None
        fills = [
            fill for fill in self._fill_events
            if fill.ts_event >= ts_ns
            and (instrument_id is None or fill.instrument_id == instrument_id)
            and (held is None or fill.venue_order_id in held)
        ]
        fills.sort(key=_venue_time)
        return [fill_report(fill, self._venue) for fill in fills]

    # -- latency (adapters.sim.latency) ---------------------------------------------------

    def on_submit_order(self, command: SubmitOrder) -> None:
        if self._inbound is None:
            self._submit(command)
        else:
            self._in_flight(command)

    def on_cancel_order(self, command: CancelOrder) -> None:
        if self._inbound is None:
            self._cancel(command)
        else:
            self._in_flight(command)

    def on_modify_order(self, command: ModifyOrder) -> None:
        if self._inbound is None:
            self._modify(command)
        else:
            self._in_flight(command)

    def on_timer(self, event: TimerFired) -> None:
        """A leg's head arrived: hand on everything due, in order, then wait for the next."""
        now = self._clock.timestamp_ns()
        if event.name == _INBOUND and self._inbound is not None:
            for command in self._inbound.arrived(now):
                if type(command) is SubmitOrder:
                    self._submit(command)
                elif type(command) is CancelOrder:
                    self._cancel(command)
                else:
                    self._modify(command)  # type: ignore[arg-type]  # by the type tests
            self._arm(_INBOUND, self._inbound.next_arrival())
        elif event.name == _OUTBOUND and self._outbound is not None:
            for answer in self._outbound.arrived(now):
                # Received now: ts_init is when the engine saw it, ts_event the venue's time.
                self._bus.send(ORDERS_PROCESS, msgspec.structs.replace(answer, ts_init=now))
            self._arm(_OUTBOUND, self._outbound.next_arrival())

    def _in_flight(self, command: SubmitOrder | CancelOrder | ModifyOrder) -> None:
        assert self._inbound is not None  # only called with a command latency
        self._arm(_INBOUND, self._inbound.send(command, self._clock.timestamp_ns()))

    def _answer_later(self, event: Event) -> None:
        assert self._outbound is not None  # bound only with an event latency
        self._arm(_OUTBOUND, self._outbound.send(event, self._clock.timestamp_ns()))

    def _arm(self, name: str, at_ns: int | None) -> None:
        if at_ns is not None:
            self.set_time_alert(name, at_ns)

    # -- commands ------------------------------------------------------------------------

    def _submit(self, command: SubmitOrder) -> None:
        self._received += 1
        now = self._clock.timestamp_ns()
        client_order_id = command.client_order_id
        instrument_id = command.instrument_id
        hold: Hold | str = ""
        if client_order_id in self._orders:
            self._duplicates_rejected += 1
            reason = self._duplicate(client_order_id)
        else:
            reason = submit_rejection(
                command,
                self._instruments.get(instrument_id),
                venue=self._venue,
                # only a post-only order is judged by the last price (would it take?)
                last_price=self._cache.last_price(instrument_id) if command.post_only else None,
                now_ns=now,
                order_types=self._order_types,
            )
            if not reason and command.reduce_only:
                reason = reduce_only_rejection(
                    command.side,
                    self._positions.get((command.strategy_id, instrument_id), ZERO))
            if not reason and self._account is not None:
                hold = self._account.hold_for(
                    command.side, command.order_type, command.quantity, price=command.price,
                    trigger_price=command.trigger_price,
                    instrument=self._instruments.require(instrument_id),
                    last_price=self._cache.last_price(instrument_id))
                reason = hold if isinstance(hold, str) else self._account.refusal(hold)
            if not reason and self._margin is not None and instrument_id in self._desk.ids:
                reason = self._desk.refusal(command, self._cache.last_price, self._working_in)
        if reason:
            self._rejected += 1
            if client_order_id not in self._orders:  # a duplicate keeps the original
                self._orders[client_order_id] = None
                if self._retention is not None:
                    self._closed_ids.append((now, client_order_id))
                    self._evict(now)
            self._emit(OrderRejected(
                strategy_id=command.strategy_id, client_order_id=client_order_id,
                instrument_id=instrument_id, reason=reason, ts_event=now, ts_init=now,
            ))
            return
        self._accepted += 1
        self._order_count += 1
        order = WorkingOrder(command, f"{self._venue}-{self._order_count}", now)
        self._orders[client_order_id] = order
        self._working += 1
        self._books.setdefault(instrument_id, []).append(order)
        self.matching = True
        if self._account is not None and isinstance(hold, Hold):
            self._account.hold(order.venue_order_id, hold)
        self._emit(OrderAccepted(
            strategy_id=command.strategy_id, client_order_id=client_order_id,
            instrument_id=instrument_id, venue_order_id=order.venue_order_id,
            ts_event=now, ts_init=now,
        ))
        if command.order_type in TRAILING:
            self._start_trailing(order, now)
        book = self._cache.books.get(instrument_id)
        if book is not None:
            self._match_accepted(order, book, now)

    def _start_trailing(self, order: WorkingOrder, now: int) -> None:
        """Set a trailing stop's first trigger (and limit) from the last price, if known."""
        instrument = self._instruments.require(order.command.instrument_id)
        terms = order.terms
        last = self._cache.last_price(order.command.instrument_id)
        if terms.trigger_price is None and (last is None or not math.isfinite(last)):
            return  # the first item the venue matches sets it
        increment = instrument.price_increment
        reference = terms.trigger_price
        if reference is None and last is not None:
            reference = price_from_float(last, increment)
        if reference is None:
            return
        order.terms = initial_trailing_terms(terms, reference, increment)
        self._emit(_updated(order, now, now))

    def _cancel(self, command: CancelOrder) -> None:
        now = self._clock.timestamp_ns()
        order = self._working_order(command.client_order_id)
        if order is None:
            self._cancels_rejected += 1
            self._emit(OrderCancelRejected(
                strategy_id=command.strategy_id, client_order_id=command.client_order_id,
                instrument_id=command.instrument_id, reason=self._not_working(command),
                ts_event=now, ts_init=now,
            ))
            return
        self._close(order, _CANCELED, now, "canceled on request")
        self._canceled += 1
        self._emit(_order_event(OrderCanceled, order, now, now))

    def _modify(self, command: ModifyOrder) -> None:
        now = self._clock.timestamp_ns()
        order = self._working_order(command.client_order_id)
        if order is None:
            self._reject_modify(command, self._not_working(command), now)
            return
        instrument_id = order.command.instrument_id
        instrument = self._instruments.require(instrument_id)
        last_price = self._cache.last_price(instrument_id)
        reason = modify_rejection(order, command, instrument, last_price=last_price)
        # The order as the modify would leave it: what the cash account holds for, and,
        # once accepted, what the order becomes.
        quantity = order.quantity if command.quantity is None else command.quantity
        terms = msgspec.structs.replace(
            order.terms,
            price=order.terms.price if command.price is None else command.price,
            trigger_price=order.terms.trigger_price if command.trigger_price is None
            else command.trigger_price,
        )
        if not reason and (command.trailing_offset is not None
                           or command.limit_offset is not None):
            terms = _trailing_again(terms, command, instrument.price_increment, last_price)
        account = self._account
        hold: Hold | None = None
        if not reason and account is not None:
            held = account.hold_for(
                terms.side, terms.order_type, quantity - order.filled, price=terms.price,
                trigger_price=terms.trigger_price, instrument=instrument,
                last_price=last_price)
            if isinstance(held, str):
                reason = held
            else:
                hold = held
                reason = account.refusal(held, replacing=order.venue_order_id)
        if reason:
            self._reject_modify(command, reason, now)
            return
        order.quantity = quantity
        order.terms = terms
        order.updated_ns = now
        if account is not None and hold is not None:
            account.hold(order.venue_order_id, hold)
        self._modifies_accepted += 1
        self._emit(OrderUpdated(
            strategy_id=order.command.strategy_id, client_order_id=command.client_order_id,
            instrument_id=instrument_id, quantity=quantity,
            price=terms.price, trigger_price=terms.trigger_price,
            trailing_offset=command.trailing_offset, limit_offset=command.limit_offset,
            ts_event=now, ts_init=now,
        ))

    def _reject_modify(self, command: ModifyOrder, reason: str, now: int) -> None:
        self._modifies_rejected += 1
        self._emit(OrderModifyRejected(
            strategy_id=command.strategy_id, client_order_id=command.client_order_id,
            instrument_id=command.instrument_id, reason=reason, ts_event=now, ts_init=now,
        ))

    def _working_order(self, client_order_id: str) -> WorkingOrder | None:
        order = self._orders.get(client_order_id)
        return order if type(order) is WorkingOrder else None

    def _duplicate(self, client_order_id: str) -> str:
        order = self._orders.get(client_order_id)
        if order is None:
            seen = "an order the venue rejected"
        elif type(order) is WorkingOrder:
            seen = f"order {order.venue_order_id}, working"
        else:
            seen = f"order {order.venue_order_id}, {order.status}"
        return (
            f"client_order_id {client_order_id!r}: already used at venue {self._venue} by "
            f"{seen}; a client order id names one order"
        )

    def _not_working(self, command: CancelOrder | ModifyOrder) -> str:
        return (
            f"client_order_id {command.client_order_id!r}: not working at venue {self._venue} "
            "(unknown, or already filled, canceled or expired)"
        )

    # -- perpetuals: margin, funding, liquidation (adapters.sim.perpetuals) --------------

    def _match_perpetuals(self, message: VenueData) -> None:
        """`process_market_data` of a venue trading perpetuals: funding rates are paid,
        everything else is matched, then the margin account is checked."""
        desk = self._desk
        if type(message) is FundingRate:
            if message.instrument_id in desk.ids:
                self._fund(message)
            return
        self._match_plain(message)
        if desk.account is None or not desk.account.positions or type(message) is BookDelta:
            return
        instrument_id = (message.bar_type.instrument_id if type(message) is Bar
                         else message.instrument_id)  # type: ignore[union-attr]
        if instrument_id in desk.ids:
            marks = desk.liquidation_marks(instrument_id, message,  # type: ignore[arg-type]
                                           self._cache.last_price)
            if marks is not None:
                currency = desk.registry[instrument_id].quote_currency
                self._liquidate(currency, marks, message.ts_event)

    def _fund(self, rate: FundingRate) -> None:
        """Every open position of the instrument pays or receives its funding."""
        payments = self._desk.funding(rate, self._positions, self._cache.last_price,
                                      self._clock.timestamp_ns())
        if payments is None:
            logger.warning("funding of %s at %d: no finite mark price or rate; skipped",
                           rate.instrument_id, rate.ts_event)
            return
        for payment in payments:
            self._funding_count += 1
            self._bus.send(PORTFOLIO_PROCESS, payment)

    def _working_in(self, instrument_id: str) -> list[WorkingOrder]:
        return [order for order in self._books.get(instrument_id, ()) if order.working]

    def _liquidate(self, currency: str, marks: dict[str, Decimal], moment: int) -> None:
        """Cancel the working orders of the perpetuals settled in `currency`, and close
        every position in them at `marks` (`adapters.sim.margin`)."""
        now = self._clock.timestamp_ns()
        self._liquidations += 1
        logger.warning("venue %s: margin in %s below maintenance; liquidating", self._venue,
                       currency)
        events: list[Event] = []
        instruments = {i.instrument_id: i for i in self._desk.settled_in(currency)}
        for instrument_id in instruments:
            for order in self._working_in(instrument_id):
                self._close(order, _CANCELED, moment, "liquidation")
                self._canceled += 1
                events.append(msgspec.structs.replace(
                    _order_event(OrderCanceled, order, moment, now),
                    reason="liquidation: margin ran out"))
        for (strategy_id, instrument_id), quantity in list(self._positions.items()):
            price = marks.get(instrument_id)
            if quantity and instrument_id in instruments and price is not None:
                self._liquidation_fill(strategy_id, instruments[instrument_id], quantity,
                                       price, moment, now, events)
        for event in events:
            self._emit(event)

    def _liquidation_fill(self, strategy_id: str, instrument: Instrument, quantity: Decimal,
                          price: Decimal, moment: int, now: int, events: list[Event]) -> None:
        """Close one strategy's position at `price`, taker: the venue's own order."""
        self._liquidation_count += 1
        self._trade_count += 1
        self._fills += 1
        instrument_id = instrument.instrument_id
        side = OrderSide.SELL if quantity > 0 else OrderSide.BUY
        size = abs(quantity)
        number = self._liquidation_count
        client_order_id = f"{self._venue}-liquidation-{number}"
        venue_order_id = f"{self._venue}-L-{number}"
        events.append(ExternalOrderAdopted(
            strategy_id=strategy_id, client_order_id=client_order_id,
            instrument_id=instrument_id, venue_order_id=venue_order_id, side=side,
            order_type=OrderType.MARKET, quantity=size, liquidation=True,
            ts_event=moment, ts_init=now))
        fee = commission(instrument, size, price, LiquiditySide.TAKER)
        fill = OrderFilled(
            strategy_id=strategy_id, client_order_id=client_order_id,
            instrument_id=instrument_id, venue_order_id=venue_order_id,
            trade_id=f"{self._venue}-T-{self._trade_count}", side=side, last_quantity=size,
            last_price=price, commission=fee, commission_currency=instrument.quote_currency,
            liquidity_side=LiquiditySide.TAKER, ts_event=moment, ts_init=now)
        self._fill_events.append(fill)
        self._positions[strategy_id, instrument_id] = ZERO
        account = self._desk.account
        assert account is not None  # liquidation needs a margin account
        account.book_fill(strategy_id, instrument, side, size, price, fee,
                          instrument.quote_currency, moment)
        events.append(fill)

    # -- market data ---------------------------------------------------------------------

    def _match_market_data(self, message: VenueData) -> None:
        if not self._books:  # idle: only a caller that ignores `matching` gets here
            return
        self._match_item(message)

    def _track_and_match(self, message: VenueData) -> None:
        self._cache.update(message)
        if not self._books:
            return
        self._match_item(message)

    def _match_item(self, message: VenueData) -> None:
        if type(message) is BookDelta:
            if not message.last:
                return  # mid-message: the book is consistent only after the last delta
            instrument_id = message.instrument_id
        elif isinstance(message, Bar):
            bar_type = message.bar_type
            if self._bar_timeframe is not None and bar_type.timeframe != self._bar_timeframe:
                return
            instrument_id = bar_type.instrument_id
        elif isinstance(message, FundingRate):
            return  # a rate matches nothing (`_match_perpetuals` applies it)
        else:
            instrument_id = message.instrument_id
        orders = self._books.get(instrument_id)
        instrument = self._instruments.get(instrument_id)
        if orders is None or instrument is None or self.state is not ActorState.RUNNING:
            return
        book = self._cache.books.get(instrument_id)
        if book is not None:
            self._match_book(message, book, orders, instrument)
            return
        if isinstance(message, BookDelta):
            return  # no book was built from it (nothing to match against)
        item = market_item(message, instrument, self._fraction)
        if item is None:
            return
        now = self._clock.timestamp_ns()
        events: list[Event] = []
        pairs_filled: set[tuple[str, str | None]] | None = None
        for order in orders:
            if order.working:
                if order.command.order_list_id is None:  # plain orders: one test more
                    self._match_order(order, item, instrument, now, events)
                    continue
                pair = _oco_pair(order.command)
                if pair is None:
                    self._match_order(order, item, instrument, now, events)
                elif pairs_filled is None or pair not in pairs_filled:
                    filled = order.filled
                    self._match_order(order, item, instrument, now, events)
                    if order.filled != filled:
                        pairs_filled = {pair} if pairs_filled is None else pairs_filled | {pair}
        self._settle(instrument_id, orders, events)

    def _match_book(
        self, message: MarketData | BookDelta, book: OrderBook, orders: list[WorkingOrder],
        instrument: Instrument,
    ) -> None:
        """The instrument has a book, the finest data: market and limit orders (and stops
        once triggered) match against it (`adapters.sim.book_matching`) on every item;
        other orders keep the item rules on its trades, quotes and bars."""
        now = self._clock.timestamp_ns()
        ts_event = message.ts_event
        events: list[Event] = []
        others: list[WorkingOrder] = []
        for order in orders:
            if not order.working:
                continue
            expire_ns = order.expire_ns
            if expire_ns is not None and ts_event >= expire_ns:
                self._close(order, _EXPIRED, expire_ns, f"expire_ns {expire_ns}: reached")
                self._expired += 1
                events.append(_order_event(OrderExpired, order, expire_ns, now))
            elif not takes_from_book(order):
                if book_triggers(order, message, book):  # the matcher takes it from here
                    self._trigger(order, max(ts_event, order.accepted_ns), now, events)
                else:
                    others.append(order)
            elif order.command.reduce_only and reduce_only_rejection(
                    order.terms.side, self._position_of(order)):
                self._cancel_reduce_only(order, max(ts_event, order.accepted_ns), now, events)
        if others and not isinstance(message, BookDelta):
            item = market_item(message, instrument, self._fraction)
            if item is not None:
                for order in others:
                    self._match_order(order, item, instrument, now, events)
        for fill in self._book_matcher.match(orders, book, message, instrument,
                                             self._reduce_only_room):
            order = fill.order
            moment = max(ts_event, order.accepted_ns)
            quantity = self._book_fill_quantity(order, fill.quantity, moment, now, events)
            if quantity > ZERO:
                self._fill(order, quantity, fill.price, fill.liquidity_side, moment,
                           instrument, now, events)
        for order in orders:
            if order.working and order.once and takes_from_book(order):
                moment = max(ts_event, order.accepted_ns)
                self._close(order, _CANCELED, moment,
                            f"time_in_force {order.command.time_in_force}: "
                            "what the book could not fill at once is canceled")
                self._canceled += 1
                events.append(_order_event(OrderCanceled, order, moment, now))
        self._settle(instrument.instrument_id, orders, events)

    def _match_accepted(self, order: WorkingOrder, book: OrderBook, now: int) -> None:
        """An order for an instrument with a book meets the book at once, as at a real
        venue: the book is the market now, not an item from before the order."""
        instrument = self._instruments.require(order.command.instrument_id)
        events: list[Event] = []
        for fill in self._book_matcher.accept(order, book, instrument, self._reduce_only_room):
            quantity = self._book_fill_quantity(order, fill.quantity, now, now, events)
            if quantity > ZERO:
                self._fill(order, quantity, fill.price, fill.liquidity_side, now, instrument,
                           now, events)
        if order.working and order.once and takes_from_book(order):
            self._close(order, _CANCELED, now, f"time_in_force {order.command.time_in_force}: "
                        "what the book could not fill at once is canceled")
            self._canceled += 1
            events.append(_order_event(OrderCanceled, order, now, now))
        for event in events:  # the order stays in its book list until the next item settles it
            self._emit(event)

    def _settle(self, instrument_id: str, orders: list[WorkingOrder], events: list[Event]) -> None:
        working = [order for order in orders if order.working]
        if working:
            self._books[instrument_id] = working
        else:
            del self._books[instrument_id]
            self.matching = self._always_matching or bool(self._books)
        # Sent only once the book is settled: a handler reacting to one of these events
        # (a strategy cancelling another order) sees the venue's state after this item.
        for event in events:
            self._emit(event)

    def _match_order(
        self,
        order: WorkingOrder,
        item: MarketItem,
        instrument: Instrument,
        now: int,
        events: list[Event],
    ) -> None:
        if order.expire_ns is not None and item.end_ns >= order.expire_ns:
            self._close(order, _EXPIRED, order.expire_ns,
                        f"expire_ns {order.expire_ns}: reached")
            self._expired += 1
            events.append(_order_event(OrderExpired, order, order.expire_ns, now))
            return
        if item.spans_time and item.end_ns <= order.accepted_ns:
            return  # the bar ended before the order existed
        match = item.match(order.terms)
        if match is not None:
            self._apply(order, match, item, instrument, now, events)
        if order.working and order.once:
            moment = max(item.end_ns, order.accepted_ns)
            self._close(order, _CANCELED, moment,
                        f"time_in_force {order.command.time_in_force}: "
                        "what did not fill on the first matching item is canceled")
            self._canceled += 1
            events.append(_order_event(OrderCanceled, order, moment, now))

    def _apply(
        self,
        order: WorkingOrder,
        match: Match,
        item: MarketItem,
        instrument: Instrument,
        now: int,
        events: list[Event],
    ) -> None:
        moment = max(item.start_ns if match.at_open else item.end_ns, order.accepted_ns)
        terms = order.terms
        trigger = match.trigger_price
        if trigger is not None and trigger != terms.trigger_price:  # a trailing stop moved
            order.terms = terms = msgspec.structs.replace(
                terms, trigger_price=trigger, price=match.limit_price)
            order.updated_ns = moment
            events.append(_updated(order, moment, now))
        if match.triggered and not terms.triggered:
            self._trigger(order, moment, now, events)
            terms = order.terms
        price = match.price
        if price is None:
            return
        side = terms.side
        capacity = item.buy_capacity if side is _BUY else item.sell_capacity
        command = order.command
        if command.reduce_only:
            capacity = self._reduce_only_capacity(order, capacity, moment, now, events)
            if capacity is None:
                return
        quantity = fill_quantity(order.leaves, capacity, fill_or_kill=order.fill_or_kill)
        if quantity <= ZERO:
            return
        if self._bar_models and item.bar is not None:
            modelled = self._bar_model_price(item.bar, price, side, match, instrument)
            if modelled is None:
                return
            price = modelled
        self._fill(order, quantity, price, match.liquidity_side, moment, instrument, now, events)

    def _bar_model_price(self, bar: Bar, price: Decimal, side: OrderSide, match: Match,
                         instrument: Instrument) -> Decimal | None:
        """The price `adapters.sim.fill_models` makes of a bar fill at `price`; None when a
        limit order the bar only touched does not fill on it."""
        increment = instrument.price_increment
        if match.liquidity_side is LiquiditySide.TAKER:
            if self._slippage is None:
                return price
            self._model_draws += 1
            return self._slippage.price(
                price, side, increment=increment, high=price_from_float(bar.high, increment),
                low=price_from_float(bar.low, increment), number=self._model_draws)
        probability = self._config.touch_fill_probability
        if probability >= 1 or match.at_open:
            return price
        extreme = price_from_float(bar.low if side is _BUY else bar.high, increment)
        if extreme != price:
            return price  # through the price: filled for sure
        self._model_draws += 1
        return price if touch_fills(probability, self._config.slippage_seed,
                                    self._model_draws) else None

    def _trigger(self, order: WorkingOrder, moment: int, now: int, events: list[Event]) -> None:
        """Mark `order`'s trigger hit (an OrderTriggered for the types that then rest as a
        limit): from now on it matches as a market or limit order."""
        terms = order.terms
        order.terms = msgspec.structs.replace(terms, triggered=True)
        order.updated_ns = moment
        if terms.order_type in LIMIT_ONCE_TRIGGERED:
            self._triggered += 1
            events.append(_order_event(OrderTriggered, order, moment, now))

    def _fill(
        self,
        order: WorkingOrder,
        quantity: Decimal,
        price: Decimal,
        liquidity_side: LiquiditySide,
        moment: int,
        instrument: Instrument,
        now: int,
        events: list[Event],
    ) -> None:
        side = order.terms.side
        command = order.command
        order.filled += quantity
        # `_book_position`, inlined: this is the market-order path of every backtest.
        positions = self._positions
        key = (command.strategy_id, command.instrument_id)
        positions[key] = positions.get(key, ZERO) + (quantity if side is _BUY else -quantity)
        self._fills += 1
        self._trade_count += 1
        fill = OrderFilled(
            strategy_id=command.strategy_id, client_order_id=command.client_order_id,
            instrument_id=command.instrument_id, venue_order_id=order.venue_order_id,
            trade_id=f"{self._venue}-T-{self._trade_count}", side=side,
            last_quantity=quantity, last_price=price,
            commission=(commission(instrument, quantity, price, liquidity_side)
                        if self._fee_tiers is None else self._fee_tiers.commission(
                            instrument, quantity, price, liquidity_side, moment)),
            commission_currency=instrument.quote_currency,
            liquidity_side=liquidity_side, ts_event=moment, ts_init=now,
        )
        self._fill_events.append(fill)  # the trade history: reports are built when asked
        if self._account is not None:
            self._account.book_fill(order.venue_order_id, side, instrument, quantity, price,
                                    fill.commission)
        if self._margin is not None and command.instrument_id in self._desk.ids:
            self._margin.book_fill(command.strategy_id, instrument, side, quantity, price,
                                   fill.commission, fill.commission_currency, moment)
        if self._retention is not None:
            counts = self._fill_counts
            counts[order.venue_order_id] = counts.get(order.venue_order_id, 0) + 1
        events.append(fill)
        if order.leaves <= ZERO:
            self._close(order, _FILLED, moment)
            self._filled += 1
        elif command.reduce_only and reduce_only_rejection(
            side, self._positions[command.strategy_id, command.instrument_id]
        ):
            self._cancel_reduce_only(order, moment, now, events)

    def _reduce_only_capacity(
        self, order: WorkingOrder, capacity: Decimal | None, moment: int, now: int,
        events: list[Event],
    ) -> Decimal | None:
        """Cap a reduce-only fill at the position it faces; None (canceled) when flat."""
        facing = self._reduce_only_room(order)
        if facing <= ZERO:
            self._cancel_reduce_only(order, moment, now, events)
            return None
        return facing if capacity is None or capacity > facing else capacity

    def _position_of(self, order: WorkingOrder) -> Decimal:
        return self._positions.get((order.command.strategy_id, order.command.instrument_id),
                                   ZERO)

    def _reduce_only_room(self, order: WorkingOrder) -> Decimal:
        """What the position a reduce-only order faces can still take (0: none)."""
        position = self._position_of(order)
        return ZERO if reduce_only_rejection(order.terms.side, position) else abs(position)

    def _book_fill_quantity(
        self, order: WorkingOrder, quantity: Decimal, moment: int, now: int,
        events: list[Event],
    ) -> Decimal:
        """How much of a book fill the order takes: all of it, unless it is reduce-only
        and the position it faces shrank since the matcher looked (another reduce-only
        order on the same item): then what is left of it, or nothing (the order is
        canceled; a FOK order all or nothing). 0 for an order already closed."""
        if not order.working:
            return ZERO
        if not order.command.reduce_only:
            return quantity
        room = self._reduce_only_room(order)
        if room <= ZERO or (order.fill_or_kill and room < order.leaves):
            self._cancel_reduce_only(order, moment, now, events)
            return ZERO
        return quantity if quantity <= room else room

    def _cancel_reduce_only(
        self, order: WorkingOrder, moment: int, now: int, events: list[Event]
    ) -> None:
        position = self._position_of(order)
        reason = (f"reduce_only True: the remaining {order.leaves} would open or increase "
                  f"the net position {position}: canceled")
        self._close(order, _CANCELED, moment, reason)
        self._canceled += 1
        events.append(OrderCanceled(
            strategy_id=order.command.strategy_id, client_order_id=order.command.client_order_id,
            instrument_id=order.command.instrument_id, reason=reason, ts_event=moment,
            ts_init=now,
        ))

    def _book_position(
        self, strategy_id: str, instrument_id: str, side: OrderSide, quantity: Decimal
    ) -> None:
        positions = self._positions
        key = (strategy_id, instrument_id)
        positions[key] = positions.get(key, ZERO) + (
            quantity if side is _BUY else -quantity)

    def _close(
        self, order: WorkingOrder, status: OrderStatus, ts_ns: int, reason: str = ""
    ) -> None:
        # The order stays in its book list until the next item of its instrument rebuilds
        # it; its record replaces it here for good.
        order.working = False
        command = order.command
        if self._account is not None:
            self._account.release(order.venue_order_id)
        self._orders[command.client_order_id] = ClosedOrder(  # positional: built per order
            command, order.venue_order_id, order.quantity, order.filled, order.terms, status,
            ts_ns, reason,
        )
        self._working -= 1
        if self._retention is not None:
            now = self._clock.timestamp_ns()
            self._closed_ids.append((now, command.client_order_id))
            self._evict(now)

    def _evict(self, now: int) -> None:
        """Let go of closed records beyond the retention window, and then of their fills."""
        policy = self._retention
        assert policy is not None  # called only under a policy
        closed_ids, orders = self._closed_ids, self._orders
        oldest_kept = now - policy.late_fill_horizon_ns
        while closed_ids and (len(closed_ids) > policy.closed_orders
                              or closed_ids[0][0] <= oldest_kept):
            _, client_id = closed_ids.popleft()
            record = orders.get(client_id)
            if type(record) is WorkingOrder:
                continue  # the id was used again after its record went: not this one's
            orders.pop(client_id, None)
            if record is not None:
                self._dead_fills += self._fill_counts.pop(record.venue_order_id, 0)
        if self._dead_fills and self._dead_fills * 2 > len(self._fill_events):
            # Compacted only when most are dead, so each fill is copied O(1) times; until
            # then the queries leave the dead ones out.
            held = self._held_venue_ids()
            self._fill_events = [f for f in self._fill_events if f.venue_order_id in held]
            self._dead_fills = 0

    def _held_venue_ids(self) -> set[str]:
        return {o.venue_order_id for o in self._orders.values() if o is not None}


def _oco_pair(command: SubmitOrder) -> tuple[str, str | None] | None:
    """The OCO pair an order belongs to: an OCO list's legs, a bracket's two exits (by
    list and parent), or None (a plain order, an OTO's, a bracket's entry)."""
    if command.contingency is ContingencyType.OCO:
        return command.order_list_id or "", None
    if command.contingency is ContingencyType.BRACKET and command.parent_order_id is not None:
        return command.order_list_id or "", command.parent_order_id
    return None


def _order_event(
    event_type: type[OrderCanceled] | type[OrderExpired] | type[OrderTriggered],
    order: WorkingOrder,
    ts_event: int,
    ts_init: int,
) -> Event:
    command = order.command
    return event_type(
        strategy_id=command.strategy_id, client_order_id=command.client_order_id,
        instrument_id=command.instrument_id, ts_event=ts_event, ts_init=ts_init,
    )


def _trailing_again(terms: OrderTerms, command: ModifyOrder, increment: Decimal,
                    last_price: float | None) -> OrderTerms:
    """A trailing stop's terms with the distances `command` gives: its trigger set again
    from the last price at the new distance (as if placed now; the trigger it has when no
    price is known yet), and a trailing-stop-limit's limit from that trigger."""
    trailing_offset, limit_offset = command.offsets_over(terms.trailing_offset,
                                                         terms.limit_offset)
    terms = msgspec.structs.replace(terms, trailing_offset=trailing_offset,
                                    limit_offset=limit_offset)
    assert trailing_offset is not None  # a trailing stop's, checked when it was placed
    last = (price_from_float(last_price, increment)
            if last_price is not None and math.isfinite(last_price) else None)
    trigger = retrailed_trigger(terms.side, trailing_offset, terms.trailing_offset_type, last,
                                terms.trigger_price, increment)
    if trigger is None:
        return terms  # the first item the venue matches sets it
    return initial_trailing_terms(msgspec.structs.replace(terms, trigger_price=trigger),
                                  trigger, increment)


def _updated(order: WorkingOrder, ts_event: int, ts_init: int) -> OrderUpdated:
    """The report of a trailing stop's terms after the venue moved them."""
    command, terms = order.command, order.terms
    return OrderUpdated(
        strategy_id=command.strategy_id, client_order_id=command.client_order_id,
        instrument_id=command.instrument_id, quantity=order.quantity, price=terms.price,
        trigger_price=terms.trigger_price, ts_event=ts_event, ts_init=ts_init,
    )


def _venue_time(fill: OrderFilled) -> int:
    return fill.ts_event
