"""CcxtExecutionClient: the execution-client port (`engine.ports.ExecutionClient`) over ccxt.

Orders go out by REST (`create_order`, `cancel_order`; a modify is a cancel-replace),
their news comes back three ways: the REST answer, the private stream
(`watch_orders` and `watch_my_trades` over Binance's WebSocket API user data stream)
and a REST backstop (`fetch_order`, `fetch_my_trades`) that runs after every reconnect
of the private stream and every `backstop_interval_s` for orders still in flight,
at most `backstop_concurrency` requests at once. The `OrderTracker` makes one story of
the three (module `tracker`): each event once, fills by trade id, nothing inferred.

Errors (module `errors`): a refusal with a reason rejects the command; a rate-limit
refusal is retried with backoff; a submit that may or may not have been processed
raises `OutcomeUnknown` and stays in doubt until the backstop finds the order (or, a
receive window later, finds that it never arrived: then OrderRejected); a refused
credential stops the client (`run` raises `AuthenticationFailed`) and every later
request raises `VenueUnavailable`, so nothing is sent blind.

Client order ids: the engine's, as Binance's `newClientOrderId` (module `ids`), and
the adapter refuses an id it has already used this session, since Binance allows the
id of a closed order again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, Final, TypeVar

import anyio
import ccxt
import msgspec
from anyio.abc import TaskStatus

from adapters.ccxt.backoff import Backoff
from adapters.ccxt.backstop import Backstop
from adapters.ccxt.config import CcxtConfig
from adapters.ccxt.errors import AuthenticationFailed, reason_of, unwrap
from adapters.ccxt.exchange import TradebusBinance
from adapters.ccxt.ids import engine_client_id, exchange_client_id
from adapters.ccxt.parsing import (
    account_report,
    fill_report,
    instrument,
    order_status_report,
    symbol_of,
)
from adapters.ccxt.retry import CommandRefused, RequestPolicy
from adapters.ccxt.tracker import OrderTracker, TrackedOrder
from engine.domain.enums import ContingencyType, OrderSide, OrderType, TimeInForce
from engine.domain.reports import AccountReport, FillReport, OrderStatusReport, PositionReport
from engine.errors import MalformedMessage, OutcomeUnknown, VenueUnavailable
from engine.events.market import Instrument
from engine.events.orders import (
    CancelOrder,
    ModifyOrder,
    OrderCanceled,
    OrderCancelRejected,
    OrderModifyRejected,
    OrderRejected,
    SubmitOrder,
    command_rejected,
)
from engine.ports import EventSink

__all__ = ("CcxtExecutionClient", "CcxtExecutionStatistics")

logger = logging.getLogger(__name__)

T = TypeVar("T")


class CcxtExecutionStatistics(msgspec.Struct, frozen=True, kw_only=True):
    venue: str
    requests: int
    retries: int
    rejected: int
    outcome_unknown: int
    stream_updates: int
    malformed: int
    reconnects: int
    backstop_runs: int
    backstop_requests: int
    duplicate_trades: int
    foreign_updates: int
    adopted_orders: int
    held_trades_dropped: int
    in_flight: int
    stopped: str = ""
    """Why the client stopped (empty while it runs)."""


class CcxtExecutionClient:
    """Order entry and account queries at a ccxt exchange (see the module docstring).

    Args:
        config: the adapter's config.
        exchange: the ccxt exchange (`make_exchange`), owned by this client: closed when
            `run` ends.
        sink: where order events go.
        now_ns: engine time for `ts_init` (default: the wall clock, at the edge).
        on_reconnected: awaited after the private stream came back and the backstop ran
            (a node reconciles the venue there: `ExecutionBridge.reconnected`).
    """

    def __init__(
        self,
        config: CcxtConfig,
        exchange: TradebusBinance,
        sink: EventSink,
        *,
        now_ns: Callable[[], int] = time.time_ns,
        on_reconnected: Callable[[], Awaitable[None]] | None = None,
        account_id: str | None = None,
    ) -> None:
        if not config.symbols:
            raise ValueError("symbols: an execution client needs the symbols it trades "
                             "(Binance lists trades per symbol)")
        self._config = config
        self._exchange = exchange
        self._sink = sink
        self._now_ns = now_ns
        self._on_reconnected = on_reconnected
        self._account_id = account_id or f"{config.venue}-spot"
        self._tracker = OrderTracker(config.venue, sink, now_ns, self._instrument_of)
        self._instruments: dict[str, Instrument] = {}
        self._backstop = Backstop(config, exchange, self._tracker, self._call)
        self._backoff = Backoff(config.reconnect_initial_s, config.reconnect_max_s,
                                seed=config.jitter_seed)
        self._stopped = ""
        self._stop_requested: anyio.Event | None = None  # made by `run` (needs the loop)
        self._policy = RequestPolicy(config, self._stop)
        self._rejected = 0
        self._updates = self._malformed = self._reconnects = 0

    @property
    def venue(self) -> str:
        return self._config.venue

    @property
    def native_order_lists(self) -> frozenset[ContingencyType]:
        return frozenset()  # ccxt has no venue-neutral OCO or bracket: the engine links them

    def native_order_types(self, instrument_id: str) -> frozenset[OrderType]:
        """Market and limit orders (what `_check` lets through): the engine's order
        emulator holds stops, if-touched and trailing orders and sends these."""
        return _PLACED

    @property
    def instruments(self) -> dict[str, Instrument]:
        """The instruments loaded at start (by engine instrument id)."""
        return dict(self._instruments)

    # -- running ----------------------------------------------------------------------------

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Load markets, subscribe the private stream, report started, keep it until cancelled.

        Raises:
            AuthenticationFailed: the exchange refused the credentials (at start or later).
        """
        self._stop_requested = anyio.Event()
        try:
            await self._connect()
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(self._private_stream)
                tasks.start_soon(self._backstop_loop)
                tasks.start_soon(self._end_when_stopped)
                task_status.started()
        finally:
            with anyio.CancelScope(shield=True):
                await self._exchange.close()

    async def _connect(self) -> None:
        markets = await self._call(lambda: self._exchange.load_markets())
        missing = sorted(set(self._config.symbols) - set(markets))
        if missing:
            raise ValueError(f"symbols {missing}: not spot markets of venue {self.venue}")
        for symbol in self._config.symbols:
            item = instrument(markets[symbol], self.venue)
            self._instruments[item.instrument_id] = item
        await self._call(lambda: self._exchange.authenticate({"type": "spot"}))

    async def _end_when_stopped(self) -> None:
        """End `run` once a request met refused credentials (whichever task it was)."""
        stop_requested = self._stop_requested
        if stop_requested is None:
            raise RuntimeError("execution client: _end_when_stopped outside run")
        await stop_requested.wait()
        raise AuthenticationFailed(f"venue {self.venue}: {self._stopped}")

    def _stop(self, error: BaseException) -> AuthenticationFailed:
        self._stopped = f"authentication failed: {reason_of(error)}"
        if self._stop_requested is not None:
            self._stop_requested.set()
        logger.error("venue %s: %s; the adapter stopped (check the API key and secret "
                     "named by %s and %s)", self.venue, self._stopped,
                     self._config.api_key_env, self._config.secret_env)
        return AuthenticationFailed(f"venue {self.venue}: {self._stopped}")

    async def _private_stream(self) -> None:
        """Both private watches; after a drop, back off, resubscribe, backstop, reconcile.

        Refused credentials stop the client (`_end_when_stopped` then ends `run`).
        """
        while True:
            error = await self._watch_both()
            if isinstance(error, ccxt.AuthenticationError):
                self._stop(error)
                return
            logger.warning("venue %s: private stream lost (%s); reconnecting", self.venue, error)
            if not await self._resubscribe():
                return

    async def _watch_both(self) -> BaseException:
        """Run watch_orders and watch_my_trades until one fails; return its error."""
        failures: list[BaseException] = []
        async with anyio.create_task_group() as watches:
            for watch, handle in ((self._exchange.watch_orders, self._tracker.on_order),
                                  (self._exchange.watch_my_trades, self._tracker.on_trade)):
                watches.start_soon(self._watch, watch, handle, failures, watches.cancel_scope)
        return failures[0]

    async def _watch(self, watch: Callable[[], Awaitable[list[dict[str, Any]]]],
                     handle: Callable[[dict[str, Any]], object],
                     failures: list[BaseException], scope: anyio.CancelScope) -> None:
        try:
            while True:
                items = await watch()
                for item in items:
                    self._updates += 1
                    try:
                        handle(item)
                    except (MalformedMessage, KeyError, TypeError, ValueError) as error:
                        self._malformed += 1
                        logger.warning("venue %s: private update skipped (%s): %r",
                                       self.venue, error, item.get("info", item))
        except (ccxt.BaseError, OSError) as error:
            failures.append(unwrap(error))
            scope.cancel()

    async def _resubscribe(self) -> bool:
        """Subscribe again (with backoff), run the backstop, reconcile; False: stopped."""
        while True:
            await anyio.sleep(self._backoff.next_delay())
            try:
                await self._exchange.authenticate({"type": "spot"})
            except (ccxt.BaseError, OSError, KeyError) as raised:
                error = unwrap(raised)
                if isinstance(error, ccxt.AuthenticationError):
                    self._stop(error)
                    return False
                if isinstance(error, KeyError):
                    raise
                logger.warning("venue %s: resubscribe failed (%s)", self.venue, error)
                continue
            break
        self._backoff.reset()
        self._reconnects += 1
        await self.backstop()
        if self._on_reconnected is not None:
            await self._on_reconnected()
        return True

    async def _backstop_loop(self) -> None:
        while True:
            await anyio.sleep(self._config.backstop_interval_s)
            await self.backstop()

    # -- commands --------------------------------------------------------------------------

    async def submit_order(self, command: SubmitOrder) -> None:
        """Send a new order; its events reach the sink. Raises OutcomeUnknown, VenueUnavailable."""
        self._refuse_if_stopped()
        if self._tracker.get(command.client_order_id) is not None:
            self._reject(command, f"client_order_id {command.client_order_id!r}: already "
                                  f"used at venue {self.venue} this session")
            return
        item = self._instruments.get(command.instrument_id)
        reason = _check(command, item)
        if reason or item is None:
            self._reject(command, reason or f"instrument {command.instrument_id!r}: not "
                                            f"loaded at venue {self.venue}")
            return
        exchange_id = exchange_client_id(command.client_order_id)
        order = self._tracker.track(command, item, exchange_id)
        # in doubt from before it leaves until an answer says otherwise: a caller that
        # gives up waiting (the bridge's own timeout cancels us) leaves it to the backstop
        order.in_doubt_since = anyio.current_time()
        try:
            answer = await self._place(order, exchange_id, command.quantity, command.price,
                                       command.time_in_force, command.post_only)
        except CommandRefused as rejected:
            self._rejected += 1
            self._tracker.reject(order, rejected.reason)
            return
        except VenueUnavailable:
            self._tracker.abandon(order)  # never processed: the caller rejects it
            raise
        self._tracker.on_order(answer)

    async def cancel_order(self, command: CancelOrder, venue_order_id: str | None) -> None:
        """Ask the exchange to cancel; OrderCanceled or OrderCancelRejected reach the sink."""
        self._refuse_if_stopped()
        order = self._tracker.get(command.client_order_id)
        venue_order_id = venue_order_id or (order.venue_order_id if order else None)
        exchange_id = (order.exchange_client_ids[-1] if order is not None
                       else exchange_client_id(command.client_order_id))
        try:
            answer = await self._policy.command(lambda: self._exchange.cancel_order(
                venue_order_id, symbol_of(command.instrument_id),
                {} if venue_order_id else {"origClientOrderId": exchange_id}))
        except CommandRefused as rejected:
            self._sink(command_rejected(OrderCancelRejected, command, rejected.reason,
                                        self._now_ns()))
            return
        if order is not None and self._tracker.on_order(answer) is not None:
            return
        now = self._now_ns()  # an order of a past session: the answer is all we know
        self._sink(OrderCanceled(strategy_id=command.strategy_id,
                                 client_order_id=command.client_order_id,
                                 instrument_id=command.instrument_id, ts_event=now,
                                 ts_init=now))

    async def modify_order(self, command: ModifyOrder, venue_order_id: str | None) -> None:
        """Cancel-replace: cancel the working leg, place the new terms under a new leg id.

        Binance cannot amend price and quantity in place. The new leg carries what is left
        of the new quantity after every fill so far; OrderUpdated names its venue order id.
        """
        self._refuse_if_stopped()
        order = self._tracker.get(command.client_order_id)
        if order is None or order.closed or order.venue_order_id is None:
            self._modify_rejected(command, f"order {command.client_order_id!r}: not working "
                                           f"at venue {self.venue} (unknown or closed)")
            return
        if order.order_type is not OrderType.LIMIT:
            self._modify_rejected(command, "only limit orders can be modified")
            return
        if command.trailing_offset is not None or command.limit_offset is not None:
            self._modify_rejected(command, "trailing_offset: a limit order takes no trailing "
                                           "offsets")
            return
        quantity = command.quantity if command.quantity is not None else order.quantity
        price = command.price if command.price is not None else order.price
        reason = _check_terms(order.instrument, quantity, price)
        if not reason and quantity <= order.filled:
            reason = f"quantity {quantity}: not above what already filled ({order.filled})"
        if reason:
            self._modify_rejected(command, reason)
            return
        old = order.venue_order_id
        leg_id = exchange_client_id(command.client_order_id, len(order.exchange_client_ids))
        self._tracker.begin_replace(order, leg_id, quantity, price, anyio.current_time())
        try:
            canceled = await self._policy.command(lambda: self._exchange.cancel_order(
                old, symbol_of(command.instrument_id)))
        except CommandRefused as rejected:
            self._tracker.undo_replace(order, old)
            self._modify_rejected(command, f"cancel of the working leg refused: "
                                           f"{rejected.reason}")
            return
        self._tracker.on_order(canceled)
        leg_filled = max(order.leg_filled.get(old, Decimal(0)),
                         order.filled - order.filled_before(old))
        remaining = quantity - order.filled_before(old) - leg_filled
        try:
            answer = await self._place(order, leg_id, remaining, price, TimeInForce.GTC, False)
        except CommandRefused as rejected:
            logger.warning("venue %s: modify of %s canceled the order but its new leg was "
                           "refused (%s)", self.venue, command.client_order_id,
                           rejected.reason)
            self._tracker.close_replaced(order)
            return
        except OutcomeUnknown:
            order.venue_order_id = None  # the backstop finds the new leg by its id
            raise
        self._tracker.on_order(answer)  # OrderUpdated, unless the stream saw the leg first

    async def _place(self, order: TrackedOrder, exchange_id: str, quantity: Decimal,
                     price: Decimal | None, time_in_force: TimeInForce,
                     post_only: bool) -> dict[str, Any]:
        params: dict[str, Any] = {"newClientOrderId": exchange_id, "newOrderRespType": "FULL"}
        if order.order_type is OrderType.LIMIT:
            params["timeInForce"] = time_in_force.value.upper()
            if post_only:
                params["postOnly"] = True
        side = "buy" if order.side is OrderSide.BUY else "sell"
        kind = "market" if order.order_type is OrderType.MARKET else "limit"
        return await self._policy.command(lambda: self._exchange.create_order(
            order.instrument.symbol, kind, side, float(quantity),
            None if price is None else float(price), params))

    # -- queries ---------------------------------------------------------------------------

    async def open_orders(self, instrument_id: str | None = None) -> list[OrderStatusReport]:
        """Open orders of one instrument, or of the whole account in one request (orders
        of markets not loaded are left out: the engine has no instrument for them)."""
        symbol = None if instrument_id is None else self._instrument(instrument_id).symbol
        raw_orders = await self._call(lambda: self._exchange.fetch_open_orders(symbol))
        by_symbol = {item.symbol: item for item in self._instruments.values()}
        return [self._report(raw, by_symbol[raw["symbol"]]) for raw in raw_orders
                if raw.get("symbol") in by_symbol]

    async def order_status(
        self, *, instrument_id: str, client_order_id: str | None, venue_order_id: str | None
    ) -> OrderStatusReport | None:
        """One order by venue order id or client order id; None when the exchange has none.

        Raises:
            ValueError: neither id was given.
        """
        if client_order_id is None and venue_order_id is None:
            raise ValueError("order_status: give client_order_id or venue_order_id")
        item = self._instrument(instrument_id)
        order = None if client_order_id is None else self._tracker.get(client_order_id)
        if venue_order_id is None and order is not None:
            venue_order_id = order.venue_order_id
        params: dict[str, Any] = {}
        if venue_order_id is None and client_order_id is not None:
            params["origClientOrderId"] = (order.exchange_client_ids[-1] if order
                                           else exchange_client_id(client_order_id))
        try:
            raw = await self._call(lambda: self._exchange.fetch_order(
                venue_order_id, item.symbol, params))
        except ccxt.OrderNotFound:
            return None
        return self._report(raw, item)

    async def fills_since(self, ts_ns: int, instrument_id: str | None = None) -> list[FillReport]:
        ids = [instrument_id] if instrument_id else sorted(self._instruments)
        reports: list[FillReport] = []
        for item_id in ids:
            item = self._instrument(item_id)
            trades = await self._call(lambda item=item: self._exchange.fetch_my_trades(
                item.symbol, ts_ns // 1_000_000, 1000))
            for trade in trades:
                order = self._tracker.find(venue_order_id=str(trade.get("order")))
                reports.append(fill_report(trade, item,
                                           order.client_order_id if order else None))
        reports = [report for report in reports if report.ts_event >= ts_ns]
        reports.sort(key=lambda report: (report.ts_event, report.trade_id))
        return reports

    async def account(self) -> AccountReport:
        balance = await self._call(lambda: self._exchange.fetch_balance())
        return account_report(balance, self.venue, self._account_id)

    async def positions(self) -> list[PositionReport]:
        """None: spot accounts hold balances, not positions."""
        await anyio.lowlevel.checkpoint()
        return []

    def statistics(self) -> CcxtExecutionStatistics:
        return CcxtExecutionStatistics(
            venue=self.venue, requests=self._policy.requests, retries=self._policy.retries,
            rejected=self._rejected, outcome_unknown=self._policy.unknown,
            stream_updates=self._updates, malformed=self._malformed,
            reconnects=self._reconnects, backstop_runs=self._backstop.runs,
            backstop_requests=self._backstop.requests,
            duplicate_trades=self._tracker.duplicate_trades,
            foreign_updates=self._tracker.foreign_updates,
            adopted_orders=self._tracker.adopted,
            held_trades_dropped=self._tracker.held_dropped,
            in_flight=len(self._tracker.in_flight()), stopped=self._stopped,
        )

    # -- the backstop -----------------------------------------------------------------------

    async def backstop(self) -> None:
        """Ask the exchange about every order in flight and deliver what the private
        stream missed; settle in-doubt submits (module `backstop`)."""
        await self._backstop.run_once()

    # -- requests -----------------------------------------------------------------------------

    async def _call(self, request: Callable[[], Awaitable[T]]) -> T:
        self._refuse_if_stopped()
        return await self._policy.query(request)

    def _refuse_if_stopped(self) -> None:
        if self._stopped:
            raise VenueUnavailable(f"venue {self.venue}: {self._stopped}")

    # -- helpers ---------------------------------------------------------------------------------

    def _instrument_of(self, symbol: str) -> Instrument | None:
        for item in self._instruments.values():
            if item.symbol == symbol:
                return item
        return None

    def _instrument(self, instrument_id: str) -> Instrument:
        item = self._instruments.get(instrument_id)
        if item is None:
            raise ValueError(f"instrument_id {instrument_id!r}: not loaded at venue "
                             f"{self.venue} (symbols: {sorted(self._instruments)})")
        return item

    def _report(self, raw: dict[str, Any], item: Instrument) -> OrderStatusReport:
        order = self._tracker.find(venue_order_id=str(raw.get("id")),
                                   exchange_client_id=raw.get("clientOrderId"))
        if order is None:
            return order_status_report(raw, item,
                                       client_order_id=engine_client_id(raw.get("clientOrderId")))
        leg = str(raw.get("id"))
        legs = len(order.venue_order_ids) > 1
        return order_status_report(
            raw, item, client_order_id=order.client_order_id,
            filled_before=order.filled_before(leg),
            quantity=order.quantity if legs else None,
            average=order.average if legs else None,
        )

    def _reject(self, command: SubmitOrder, reason: str) -> None:
        self._rejected += 1
        now = self._now_ns()
        self._sink(OrderRejected(
            strategy_id=command.strategy_id, client_order_id=command.client_order_id,
            instrument_id=command.instrument_id, reason=reason, ts_event=now, ts_init=now,
        ))

    def _modify_rejected(self, command: ModifyOrder, reason: str) -> None:
        self._sink(command_rejected(OrderModifyRejected, command, reason, self._now_ns()))


def _check_terms(item: Instrument, quantity: Decimal, price: Decimal | None) -> str:
    if quantity <= 0:
        return f"quantity {quantity}: must be positive"
    if quantity % item.size_increment:
        return (f"quantity {quantity}: not a multiple of the size increment "
                f"{item.size_increment} (ccxt would round it)")
    if price is not None and (price <= 0 or price % item.price_increment):
        return (f"price {price}: not a positive multiple of the price increment "
                f"{item.price_increment} (ccxt would round it)")
    return ""


_TIMES_IN_FORCE: Final = frozenset({TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK})
_PLACED: Final = frozenset({OrderType.MARKET, OrderType.LIMIT})


def _check(command: SubmitOrder, item: Instrument | None) -> str:
    """Why `command` cannot be sent as it is ('' when it can)."""
    if item is None:
        return ""
    if command.order_type not in _PLACED:
        return (f"order_type {command.order_type}: not placed by this adapter (it places "
                "market and limit orders only)")
    time_in_force = command.time_in_force
    if time_in_force not in _TIMES_IN_FORCE:
        return (f"time_in_force {time_in_force}: not placed by this adapter (it sends GTC, "
                "IOC and FOK, what ccxt's unified API and Binance spot take)")
    if command.order_type is OrderType.MARKET and time_in_force is TimeInForce.FOK:
        return ("time_in_force fok: a market order here fills what the book has (IOC), "
                "not all or nothing")
    if command.order_type is OrderType.LIMIT and command.price is None:
        return "price: a limit order needs one"
    return _check_terms(item, command.quantity,
                        command.price if command.order_type is OrderType.LIMIT else None)
