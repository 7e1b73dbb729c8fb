"""The portfolio actor: balances, netted positions, equity and closed trades, from fills.

Accounting is cash-style and exact (Decimal): a buy of q at p with commission c takes
q x p from the quote currency, adds q to the base currency and takes c from the
commission currency; a sell is the reverse. A perpetual (`InstrumentClass.PERPETUAL`,
linear, settled in its quote currency) moves no notional and no base currency: a fill
adds the pnl it realizes (the position's, below) to the quote currency and takes its
commission, and equity counts its open positions at their unrealized pnl. Funding
payments (`FundingPayment`, from the venue at `PORTFOLIO_PROCESS`) are added to the
balance and summed per position (`funding`). Positions are netted per (strategy,
instrument) by `engine.actors.positions`; their amounts are in the instrument's quote
currency, and a commission paid in the base currency counts in the position's fees at the
fill price. A commission in any other currency leaves the balance but not the position's
fees (counted in `statistics().unattributed_commissions`).

Mark-to-market is lazy: nothing happens per bar. Equity is computed only when asked,
after each fill (for `AccountUpdated`) and at the equity timer, as the sum of balances in
the account currency, each converted at the last price (`MarketCache`) of the first
instrument, in id order, whose base is that currency and whose quote is the account
currency. A non-zero balance with no such priced instrument is left out of equity and
named in `statistics().unconverted_currencies`; an open position with no price is left
out of unrealized pnl and counted in `statistics().unpriced_positions`.

Venue account states (`AccountState`, sent to `PORTFOLIO_PROCESS` by a live venue or by
reconciliation) are the truth for the currencies they list: a total that differs from
the book is a correction, logged and counted (`statistics().balance_corrections`), and
the book takes the venue's total. The free amounts they report are kept for reading.

The equity curve is sampled at start, on a timer every `equity_interval_ns` (aligned to
multiples of the interval since the epoch, so daily samples fall on UTC midnight) and at
stop; its size is bounded by run length / interval, not by the number of bars.

Every fill, closed trade and equity sample is kept unless a retention policy is given
(`retain`, the daemon's; `engine.actors.retention`): then the recent fills and trades
are kept and the curve is halved whenever it is full. Balances, positions, realized pnl,
fees and the counts in `statistics()` are running sums, exact whatever was let go.
"""

from __future__ import annotations

import itertools
import logging
from bisect import bisect_right
from collections import deque
from decimal import Decimal
from math import isfinite
from typing import ClassVar, Final

import msgspec

from engine.actor import Actor
from engine.actors.positions import (
    Position,
    PositionChange,
    PositionState,
    PositionStep,
    apply_fill,
    closed_trade,
    position_event,
    snapshot,
)
from engine.actors.retention import RetentionConfig
from engine.analysis import ClosedTrade
from engine.cache import MarketCache
from engine.domain.enums import InstrumentClass, LiquiditySide, OrderSide
from engine.domain.money import ZERO, to_decimal
from engine.events.fills import (
    AccountState,
    AccountUpdated,
    Balance,
    FundingPayment,
    OrderFilled,
)
from engine.events.market import Instrument
from engine.events.system import TimerFired
from engine.instruments import InstrumentRegistry
from engine.snapshot import counters_of, set_counters
from engine.topics import ALL_ORDER_EVENTS, PORTFOLIO_PROCESS, account_topic, position_topic

__all__ = (
    "EQUITY_TIMER",
    "FillTotals",
    "Portfolio",
    "PortfolioConfig",
    "PortfolioSnapshot",
    "PortfolioStatistics",
)

_log = logging.getLogger(__name__)
_BUY: Final = OrderSide.BUY
_PERPETUAL: Final = InstrumentClass.PERPETUAL
_OPENED: Final = PositionChange.OPENED
_CLOSED_STEP: Final = PositionChange.CLOSED

EQUITY_TIMER: Final = "equity"
_ONE: Final = Decimal(1)
_Key = tuple[str, str]  # (strategy_id, instrument_id)


class PortfolioConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The account the portfolio keeps: its id, its currency and what it starts with."""

    account_id: str = "SIM-001"
    base_currency: str = "USDT"
    starting_balances: dict[str, Decimal]
    equity_interval_ns: int = 86_400_000_000_000

    def __post_init__(self) -> None:
        if self.equity_interval_ns <= 0:
            raise ValueError(f"equity_interval_ns {self.equity_interval_ns}: must be > 0")


class PortfolioStatistics(msgspec.Struct, frozen=True, kw_only=True):
    fills_applied: int
    fills_ignored: int
    """Fills for an instrument the registry does not know, or with quantity or price <= 0."""
    unattributed_commissions: int
    positions_open: int
    positions_opened: int
    positions_closed: int
    equity_samples: int
    unconverted_currencies: tuple[str, ...]
    unpriced_positions: int
    account_states: int = 0
    funding_payments: int = 0
    balance_corrections: int = 0
    """Currencies whose book total a venue account state corrected."""
    account_currency: str = ""
    """The currency `equity()` is in (the metrics label it)."""
    fills_evicted: int = 0
    """Fills the retention policy let go: `fills()` holds the `fills_applied - fills_evicted`
    latest, numbered from `fills_evicted` (`fills_from`)."""


class FillTotals(msgspec.Struct, frozen=True, kw_only=True):
    """Every fill of one (instrument, side, liquidity, commission currency) this session,
    summed as it was booked: exact whatever retention let go of the fills themselves."""

    instrument_id: str
    side: OrderSide
    liquidity_side: LiquiditySide
    commission_currency: str
    fills: int
    quantity: Decimal
    notional: Decimal
    """Quantity x price, in the instrument's quote currency."""
    commission: Decimal


_FillKey = tuple[str, OrderSide, LiquiditySide, str]


def _add_fill(totals: dict[_FillKey, _RunningTotals], fill: OrderFilled) -> None:
    key = (fill.instrument_id, fill.side, fill.liquidity_side, fill.commission_currency)
    running = totals.get(key)
    if running is None:
        totals[key] = _RunningTotals(1, fill.last_quantity,
                                     fill.last_quantity * fill.last_price, fill.commission)
        return
    running.fills += 1
    running.quantity += fill.last_quantity
    running.notional += fill.last_quantity * fill.last_price
    running.commission += fill.commission


def _totals_list(totals: dict[_FillKey, _RunningTotals]) -> list[FillTotals]:
    return [FillTotals(instrument_id=key[0], side=key[1], liquidity_side=key[2],
                       commission_currency=key[3], fills=t.fills, quantity=t.quantity,
                       notional=t.notional, commission=t.commission)
            for key, t in sorted(totals.items())]


class _RunningTotals:
    """One `FillTotals` as it grows (mutable: added to on every fill)."""

    __slots__ = ("commission", "fills", "notional", "quantity")

    def __init__(self, fills: int, quantity: Decimal, notional: Decimal,
                 commission: Decimal) -> None:
        self.fills = fills
        self.quantity = quantity
        self.notional = notional
        self.commission = commission


_COUNTERS = (
    "_fills_applied", "_fills_ignored", "_unattributed_commissions", "_positions_opened",
    "_balance_corrections", "_account_states", "_positions_closed", "_funding_payments",
)


class PortfolioSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """The portfolio's books: balances, positions, closed totals and the kept history."""

    balances: dict[str, Decimal]
    positions: list[tuple[tuple[str, str], PositionState]]
    closed: list[tuple[tuple[str, str], tuple[Decimal, Decimal]]]
    closed_trades: list[ClosedTrade]
    equity_curve: list[tuple[int, Decimal]]
    fills: list[OrderFilled]
    net: dict[str, Decimal]
    venue_free: dict[str, Decimal]
    counters: dict[str, int]
    evicted_fill_totals: list[FillTotals] = []
    """The fills retention let go, summed (the held ones are in `fills`)."""
    funding: list[tuple[tuple[str, str], Decimal]] = []
    """Funding paid (< 0) or received per (strategy, instrument), this session."""


class Portfolio(Actor):
    """Keep the account's balances and positions from fills; answer with snapshots."""

    def __init__(
        self, config: PortfolioConfig, instruments: InstrumentRegistry, cache: MarketCache
    ) -> None:
        super().__init__("portfolio")
        self._config = config
        self._instruments = instruments
        self._cache = cache
        self._rate_paths: dict[str, list[str]] = {}
        self._rate_paths_size = -1
        self._balances: dict[str, Decimal] = dict(config.starting_balances)
        self._positions: dict[_Key, PositionState] = {}
        self._closed: dict[_Key, tuple[Decimal, Decimal]] = {}  # realized pnl, fees
        # Unbounded (maxlen None) until `retain` bounds them: a backtest keeps everything.
        self._closed_trades: deque[ClosedTrade] = deque()
        self._equity_curve: list[tuple[int, Decimal]] = []
        self._equity_points: int | None = None
        self._fills_applied = 0
        self._fills: deque[OrderFilled] = deque()
        # The fills retention let go, summed by (instrument, side, liquidity, currency):
        # added to only when one goes, so a backtest (which keeps all) never pays for it.
        self._evicted_totals: dict[_FillKey, _RunningTotals] = {}
        # `fill_totals` as of the last call, over fills numbered below `_totals_through`:
        # the next call adds only the fills since (a read-side memo, never snapshotted).
        self._totals_memo: dict[_FillKey, _RunningTotals] | None = None
        self._totals_through = 0
        self._net: dict[str, Decimal] = {}  # account net per instrument: risk asks per order
        self._fills_ignored = 0
        self._unattributed_commissions = 0
        self._positions_opened = 0
        self._positions_closed = 0
        self._balance_corrections = 0
        self._account_states = 0
        self._venue_free: dict[str, Decimal] = {}
        self._funding: dict[_Key, Decimal] = {}
        self._funding_payments = 0
        # The perpetuals among the instruments, found once per registry version (equity
        # asks on every fill; a spot-only graph finds none and pays one test).
        self._perpetuals: frozenset[str] = frozenset()
        self._perpetuals_size = -1

    # -- lifecycle -------------------------------------------------------------------

    def on_start(self) -> None:
        self.subscribe(ALL_ORDER_EVENTS, only=OrderFilled)
        self.register_endpoint(PORTFOLIO_PROCESS, self._on_account_state)
        now = self._clock.timestamp_ns()
        interval = self._config.equity_interval_ns
        self.set_timer(EQUITY_TIMER, interval, start_ns=now - now % interval)
        self._sample(now)

    def on_stop(self) -> None:
        self._sample(self._clock.timestamp_ns())

    def retain(self, policy: RetentionConfig) -> None:
        """Keep only the recent fills and trades and a bounded curve (the daemon's)."""
        self._fills = deque(self._fills, maxlen=policy.fills)
        self._closed_trades = deque(self._closed_trades, maxlen=policy.closed_trades)
        self._equity_points = policy.equity_points
        self._totals_memo = None

    # -- snapshots (engine.snapshot) ------------------------------------------------------

    snapshot_type: ClassVar[type[msgspec.Struct]] = PortfolioSnapshot

    def snapshot_state(self) -> PortfolioSnapshot:
        return PortfolioSnapshot(
            balances=dict(self._balances),
            positions=list(self._positions.items()),
            closed=list(self._closed.items()),
            closed_trades=list(self._closed_trades),
            equity_curve=list(self._equity_curve),
            fills=list(self._fills),
            net=dict(self._net),
            venue_free=dict(self._venue_free),
            counters=counters_of(self, _COUNTERS),
            evicted_fill_totals=_totals_list(self._evicted_totals),
            funding=list(self._funding.items()),
        )

    def restore_state(self, state: PortfolioSnapshot) -> None:
        self._balances = dict(state.balances)
        self._positions = dict(state.positions)
        self._closed = dict(state.closed)
        self._closed_trades = deque(state.closed_trades, maxlen=self._closed_trades.maxlen)
        self._equity_curve = list(state.equity_curve)
        self._fills = deque(state.fills, maxlen=self._fills.maxlen)
        self._net = dict(state.net)
        self._venue_free = dict(state.venue_free)
        self._funding = dict(state.funding)
        set_counters(self, state.counters, _COUNTERS)
        self._evicted_totals = {}
        for totals in state.evicted_fill_totals:
            key = (totals.instrument_id, totals.side, totals.liquidity_side,
                   totals.commission_currency)
            self._evicted_totals[key] = _RunningTotals(
                totals.fills, totals.quantity, totals.notional, totals.commission)
        if "_positions_closed" not in state.counters:  # a snapshot from before the counter
            self._positions_closed = len(state.closed_trades)
        self._totals_memo = None

    # -- read API (values and snapshots only) ----------------------------------------

    def position(self, instrument_id: str, strategy_id: str) -> Position | None:
        state = self._positions.get((strategy_id, instrument_id))
        return None if state is None else snapshot(state)

    def positions(self, strategy_id: str | None = None) -> list[Position]:
        """Open positions, ordered by (strategy id, instrument id)."""
        return [snapshot(self._positions[key]) for key in sorted(self._positions)
                if strategy_id is None or key[0] == strategy_id]

    def net_quantity(self, instrument_id: str, strategy_id: str | None = None) -> Decimal:
        """Signed open quantity of `instrument_id`: one strategy's, or the account's net."""
        if strategy_id is not None:  # the common case (a strategy asking): one lookup
            state = self._positions.get((strategy_id, instrument_id))
            return ZERO if state is None else state.quantity
        return self._net.get(instrument_id, ZERO)

    def is_flat(self, instrument_id: str, strategy_id: str | None = None) -> bool:
        """True when the net quantity is zero (across strategies: the account's net)."""
        return not self.net_quantity(instrument_id, strategy_id)

    def balances(self) -> dict[str, Decimal]:
        return {currency: self._balances[currency] for currency in sorted(self._balances)}

    def balance(self, currency: str) -> Decimal:
        return self._balances.get(currency, ZERO)

    def venue_free_balance(self, currency: str) -> Decimal | None:
        """The free amount the venue last reported for `currency`, None if it never did."""
        return self._venue_free.get(currency)

    def equity(self) -> Decimal:
        """Balances converted to the account currency at the last prices, and open
        perpetual positions at their unrealized pnl (see the module docstring)."""
        return self._equity_of(sorted(self._balances.items()))

    def funding(self, strategy_id: str | None = None, instrument_id: str | None = None
                ) -> Decimal:
        """Funding received (> 0) or paid (< 0) this session by the selected positions."""
        return sum((amount for key, amount in sorted(self._funding.items())
                    if _wanted(key, strategy_id, instrument_id)), ZERO)

    def _equity_of(self, balances: list[tuple[str, Decimal]]) -> Decimal:
        # In currency order, so the sum (rounded to the Decimal context) is the same each run.
        # The account currency is added as it is (its rate is one): this runs on every
        # fill somebody watches the account of.
        account = self._config.base_currency
        total = ZERO
        for currency, amount in balances:
            if not amount:
                continue
            if currency == account:
                total += amount
                continue
            rate = self._rate(currency)
            if rate is not None:
                total += amount * rate
        if self._perpetual_ids():
            total += self._perpetual_unrealized()
        return total

    def _perpetual_ids(self) -> frozenset[str]:
        if self._perpetuals_size != self._instruments.version:
            self._perpetuals_size = self._instruments.version
            self._perpetuals = frozenset(
                i.instrument_id for i in self._instruments
                if i.instrument_class is _PERPETUAL)
        return self._perpetuals

    def _perpetual_unrealized(self) -> Decimal:
        """Open perpetual positions' unrealized pnl at the last prices (in their quote
        currency, taken as the account's: a perpetual is settled in it); unpriced: 0."""
        perpetuals = self._perpetuals
        total = ZERO
        for state in self._positions.values():
            if state.instrument_id in perpetuals:
                mark = self._cache.last_price(state.instrument_id)
                if mark is not None and isfinite(mark):
                    total += to_decimal(mark) * state.quantity - state.cost_basis
        return total

    def realized_pnl(
        self, strategy_id: str | None = None, instrument_id: str | None = None
    ) -> Decimal:
        """Gross realized pnl of closed and open positions, in their quote currencies."""
        return self._totals(strategy_id, instrument_id)[0]

    def unrealized_pnl(
        self, strategy_id: str | None = None, instrument_id: str | None = None
    ) -> Decimal:
        """Pnl of closing open positions at the last prices; unpriced ones count zero."""
        total = ZERO
        for state in self._select(strategy_id, instrument_id):
            mark = self._cache.last_price(state.instrument_id)
            if mark is not None:
                total += snapshot(state).unrealized_pnl(to_decimal(mark))
        return total

    def total_fees(
        self, strategy_id: str | None = None, instrument_id: str | None = None
    ) -> Decimal:
        """Commissions attributed to positions (closed and open), in their quote currencies."""
        return self._totals(strategy_id, instrument_id)[1]

    def equity_curve(self) -> list[tuple[int, Decimal]]:
        """The sampled curve: every sample, or under retention at most `equity_points`."""
        return list(self._equity_curve)

    def equity_curve_since(self, ts_ns: int) -> list[tuple[int, Decimal]]:
        """The samples held after `ts_ns` (a reader that saw up to a time asks for the rest;
        a long backtest's curve holds one sample a fill, too many to copy per scrape)."""
        curve = self._equity_curve
        return curve[bisect_right(curve, ts_ns, key=_sample_time):]

    def fills(self) -> list[OrderFilled]:
        """The fills held, in order: every fill applied (the backtest result's fill list),
        or under a retention policy the most recent ones."""
        return list(self._fills)

    def fill_totals(self) -> list[FillTotals]:
        """Every fill this session summed by (instrument, side, liquidity, commission
        currency), in that order: the metrics' fill counters, exact under retention (the
        fills let go were summed as they went; the held ones are summed now).

        Each call adds only the fills since the previous one (a scrape of a long backtest
        summed every fill again: 39,000 of them, most of its time); it starts over when
        fills it never summed were let go in between.
        """
        first_held = self._fills_applied - len(self._fills)
        totals = self._totals_memo
        if totals is None or first_held > self._totals_through:
            totals = {key: _RunningTotals(t.fills, t.quantity, t.notional, t.commission)
                      for key, t in self._evicted_totals.items()}
            start = first_held
        else:
            start = self._totals_through
        for fill in itertools.islice(self._fills, start - first_held, None):
            _add_fill(totals, fill)
        self._totals_memo = totals
        self._totals_through = self._fills_applied
        return _totals_list(totals)

    def fills_from(self, number: int = 0) -> list[tuple[int, OrderFilled]]:
        """The fills held whose number is `number` or more, each with it, in order.

        A fill's number is its place among every fill applied this session (from 0): it
        stays the same when older fills are let go, so a reader that saw up to `n`
        asks `fills_from(n)` and misses nothing still held.
        """
        first = self._fills_applied - len(self._fills)
        skip = max(number - first, 0)
        return [(first + skip + offset, fill)
                for offset, fill in enumerate(itertools.islice(self._fills, skip, None))]

    def closed_trades(self) -> list[ClosedTrade]:
        """The closed round trips held: all of them, or under retention the latest."""
        return list(self._closed_trades)

    def statistics(self) -> PortfolioStatistics:
        open_states = list(self._positions.values())
        return PortfolioStatistics(
            fills_applied=self._fills_applied,
            fills_ignored=self._fills_ignored,
            unattributed_commissions=self._unattributed_commissions,
            positions_open=len(open_states),
            positions_opened=self._positions_opened,
            positions_closed=self._positions_closed,
            equity_samples=len(self._equity_curve),
            unconverted_currencies=tuple(
                currency for currency in sorted(self._balances)
                if self._balances[currency] and self._rate(currency) is None
            ),
            unpriced_positions=sum(
                1 for state in open_states if self._cache.last_price(state.instrument_id) is None
            ),
            account_states=self._account_states,
            funding_payments=self._funding_payments,
            balance_corrections=self._balance_corrections,
            account_currency=self._config.base_currency,
            fills_evicted=self._fills_applied - len(self._fills),
        )

    # -- handlers ----------------------------------------------------------------------

    def on_timer(self, event: TimerFired) -> None:
        if event.name == EQUITY_TIMER:
            self._sample(event.ts_event)

    def on_order_filled(self, fill: OrderFilled) -> None:
        instrument = self._instruments.get(fill.instrument_id)
        # Amounts are finite here: the order manager refuses malformed fills where they
        # enter (`order_validation`) and publishes only the ones it booked.
        if instrument is None or fill.last_quantity <= 0 or fill.last_price <= 0:
            self._fills_ignored += 1
            _log.warning("fill %s of %s ignored: unknown instrument or quantity/price <= 0",
                         fill.trade_id, fill.instrument_id)
            return
        self._fills_applied += 1
        fills = self._fills
        if len(fills) == fills.maxlen:  # full (retention): the oldest goes, summed
            _add_fill(self._evicted_totals, fills[0])
        fills.append(fill)
        perpetual = instrument.instrument_class is _PERPETUAL
        if not perpetual:
            self._move_cash(fill, instrument)
        signed = fill.last_quantity if fill.side is _BUY else -fill.last_quantity
        self._net[fill.instrument_id] = self._net.get(fill.instrument_id, ZERO) + signed
        key = (fill.strategy_id, fill.instrument_id)
        before = self._positions.get(key)
        state, steps = apply_fill(
            before,
            strategy_id=fill.strategy_id,
            instrument_id=fill.instrument_id,
            side=fill.side,
            quantity=fill.last_quantity,
            price=fill.last_price,
            fee=self._fee_in_quote(fill, instrument),
            ts_ns=fill.ts_event,
        )
        if state is None:
            del self._positions[key]
        else:
            self._positions[key] = state
        if perpetual:
            # The pnl the fill realized (its first step: a flip's second only opens).
            realized = steps[0].state.realized_pnl - (
                before.realized_pnl if before is not None else ZERO)
            self._add(instrument.quote_currency, realized)
            self._add(fill.commission_currency, -fill.commission)
        now = self._clock.timestamp_ns()
        for step in steps:
            self._publish_step(step, fill, now)
        self._publish_account(fill.ts_event, now)

    def _on_account_state(self, message: object) -> None:
        if type(message) is FundingPayment:
            self._on_funding(message)
            return
        if not isinstance(message, AccountState):
            _log.warning("%s: %s is not an account state; dropped", PORTFOLIO_PROCESS,
                         type(message).__name__)
            return
        self._account_states += 1
        for balance in message.balances:
            total, free = balance.total, balance.free
            if not (total.is_finite() and free.is_finite()):
                _log.warning("account state of %s: %s total %s free %s not finite; skipped",
                             message.venue, balance.currency, total, free)
                continue
            book = self._balances.get(balance.currency, ZERO)
            if total != book:
                self._balance_corrections += 1
                _log.warning("balance %s corrected from the venue %s: %s -> %s",
                             balance.currency, message.venue, book, total)
                self._balances[balance.currency] = total
            self._venue_free[balance.currency] = free
        self._publish_account(message.ts_event, self._clock.timestamp_ns())

    def _on_funding(self, payment: FundingPayment) -> None:
        if not payment.amount.is_finite():
            _log.warning("funding of %s from %s: amount %s not finite; dropped",
                         payment.instrument_id, payment.venue, payment.amount)
            return
        self._funding_payments += 1
        self._add(payment.currency, payment.amount)
        key = (payment.strategy_id, payment.instrument_id)
        self._funding[key] = self._funding.get(key, ZERO) + payment.amount
        now = self._clock.timestamp_ns()
        topic = position_topic(payment.strategy_id)
        if self._bus.has_audience(topic):
            self._bus.publish(topic, payment)
        self._publish_account(payment.ts_event, now)

    # -- accounting ----------------------------------------------------------------------

    def _move_cash(self, fill: OrderFilled, instrument: Instrument) -> None:
        # Three `_add`s, written out: this runs for every fill of every spot backtest.
        balances = self._balances
        quantity = fill.last_quantity
        notional = quantity * fill.last_price
        buy = fill.side is _BUY
        quote, base, fee = (instrument.quote_currency, instrument.base_currency,
                            fill.commission_currency)
        balances[quote] = balances.get(quote, ZERO) + (-notional if buy else notional)
        balances[base] = balances.get(base, ZERO) + (quantity if buy else -quantity)
        balances[fee] = balances.get(fee, ZERO) + -fill.commission

    def _add(self, currency: str, amount: Decimal) -> None:
        self._balances[currency] = self._balances.get(currency, ZERO) + amount

    def _fee_in_quote(self, fill: OrderFilled, instrument: Instrument) -> Decimal:
        if fill.commission_currency == instrument.quote_currency:
            return fill.commission
        if fill.commission_currency == instrument.base_currency:
            return fill.commission * fill.last_price
        if fill.commission:
            self._unattributed_commissions += 1
        return ZERO

    def _rate(self, currency: str) -> Decimal | None:
        """Price of one `currency` in the account currency, or None without a priced path."""
        account = self._config.base_currency
        if currency == account:
            return _ONE
        # Candidates per currency, found once per registry version (equity is computed on
        # every fill, and scanning every instrument each time added up).
        if self._rate_paths_size != self._instruments.version:
            self._rate_paths = {}
            self._rate_paths_size = self._instruments.version
        paths = self._rate_paths.get(currency)
        if paths is None:
            paths = self._rate_paths[currency] = [
                instrument.instrument_id
                for instrument in self._instruments
                if (instrument.base_currency, instrument.quote_currency) == (currency, account)
            ]
        for instrument_id in paths:
            price = self._cache.last_price(instrument_id)
            if price is not None:
                return to_decimal(price)
        return None

    def _select(self, strategy_id: str | None, instrument_id: str | None) -> list[PositionState]:
        return [self._positions[key] for key in sorted(self._positions)
                if _wanted(key, strategy_id, instrument_id)]

    def _totals(
        self, strategy_id: str | None, instrument_id: str | None
    ) -> tuple[Decimal, Decimal]:
        """Realized pnl and fees of the selected positions, closed and open."""
        realized = fees = ZERO
        for key, (closed_realized, closed_fees) in self._closed.items():
            if _wanted(key, strategy_id, instrument_id):
                realized, fees = realized + closed_realized, fees + closed_fees
        for state in self._select(strategy_id, instrument_id):
            realized, fees = realized + state.realized_pnl, fees + state.fees
        return realized, fees

    def _sample(self, ts_ns: int) -> None:
        """Record equity at `ts_ns`; a second sample at the same time replaces the first."""
        curve = self._equity_curve
        if curve and curve[-1][0] >= ts_ns:
            curve.pop()
        curve.append((ts_ns, self.equity()))
        if self._equity_points is not None and len(curve) > self._equity_points:
            # Every second point goes (the latest stays): the curve still spans the
            # session, at twice the step for what was already there.
            self._equity_curve = [*curve[:-1:2], curve[-1]]

    # -- egress ----------------------------------------------------------------------------

    def _publish_step(self, step: PositionStep, fill: OrderFilled, now: int) -> None:
        if step.change is _OPENED:
            self._positions_opened += 1
        elif step.change is _CLOSED_STEP:
            state = step.state
            key = (state.strategy_id, state.instrument_id)
            realized, fees = self._closed.get(key, (ZERO, ZERO))
            self._closed[key] = (realized + state.realized_pnl, fees + state.fees)
            self._positions_closed += 1
            self._closed_trades.append(closed_trade(step, closed_ns=fill.ts_event))
        topic = position_topic(step.state.strategy_id)
        if self._bus.has_audience(topic):  # built only if a strategy, journal or test listens
            self._bus.publish(topic, position_event(step, ts_event=fill.ts_event, ts_init=now))

    def _publish_account(self, ts_event: int, now: int) -> None:
        topic = account_topic(self._config.account_id)
        if not self._bus.has_audience(topic):
            return  # equity is computed on demand; nobody would see this one
        ordered = sorted(self._balances.items())  # sorted once, for both
        self._bus.publish(topic, AccountUpdated(
            account_id=self._config.account_id,
            balances=tuple([Balance(currency=currency, total=total)
                            for currency, total in ordered]),
            equity=self._equity_of(ordered),
            currency=self._config.base_currency,
            ts_event=ts_event,
            ts_init=now,
        ))


def _sample_time(sample: tuple[int, Decimal]) -> int:
    return sample[0]


def _wanted(key: _Key, strategy_id: str | None, instrument_id: str | None) -> bool:
    return (strategy_id is None or key[0] == strategy_id) and (
        instrument_id is None or key[1] == instrument_id
    )
