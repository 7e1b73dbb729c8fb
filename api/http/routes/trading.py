"""Trading: portfolio, positions, orders, fills; manual orders, cancels, the kill switch.

Reads go through the actors' public read methods; every change is a command injected
at risk as a journaled input (`ApiContext.inject`), so it passes the same checks as a
strategy's order and a replay of the journal repeats it.

The daemon keeps recent history only (`[runtime.retention]`, `engine.actors.retention`):
the order and fill lists answer with what is held, every open order and the recently
closed ones, the latest fills, a bounded equity curve. The totals (balances, pnl, fees)
are exact running sums; the full history is in the journal.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.http.context import ApiContext, context
from api.http.errors import ApiError
from api.http.inputs import query_choice, query_str, read_body
from api.http.paging import page
from api.http.responses import json_response
from api.http.schemas import MANUAL_STRATEGY_ID, OrderRequest, TradingStateRequest
from engine.domain.enums import (
    LIMIT_PRICED_TYPES,
    TRAILING_TYPES,
    TRIGGER_PRICED_TYPES,
    OrderStatus,
    OrderType,
    TimeInForce,
    TradingState,
)
from engine.domain.order import Order
from engine.events.orders import CancelOrder, SetTradingState, SubmitOrder

__all__ = (
    "ROUTES",
    "cancel_order",
    "cancel_orders",
    "fills",
    "get_order",
    "list_orders",
    "portfolio",
    "positions",
    "set_trading_state",
    "submit_order",
    "trading_state",
)

_STATUSES = frozenset(str(status) for status in OrderStatus)
_ZERO = Decimal(0)
_TOO_LARGE = Decimal("1e15")
_MAX_PLACES = 18
_NEEDS_LIMIT_OFFSET = frozenset({OrderType.TRAILING_STOP_LIMIT})


def _reader(request: Request) -> ApiContext:
    api = context(request)
    api.guard.check_read(request.headers)
    return api


def _writer(request: Request) -> ApiContext:
    api = context(request)
    api.guard.check_write(request.headers)
    return api


# -- reads -----------------------------------------------------------------------------


async def portfolio(request: Request) -> Response:
    """Balances, equity, realized and unrealized pnl, fees (exact totals), and the sampled
    equity curve (bounded by the retention: coarser the older)."""
    book = _reader(request).graph().portfolio
    return json_response({
        "balances": book.balances(),
        "equity": book.equity(),
        "realized_pnl": book.realized_pnl(),
        "unrealized_pnl": book.unrealized_pnl(),
        "fees": book.total_fees(),
        "equity_curve": [{"ts": ts, "equity": equity} for ts, equity in book.equity_curve()],
    })


async def positions(request: Request) -> Response:
    graph = _reader(request).graph()
    return json_response({"items": graph.portfolio.positions(query_str(request,
                                                                       "strategy_id"))})


async def list_orders(request: Request) -> Response:
    """Recent orders, newest first: every open order and the closed ones the retention
    keeps; `open=true` for open ones; filter by strategy, instrument, status; paged with
    `limit` and `cursor` (`api.http.paging`)."""
    graph = _reader(request).graph()
    strategy_id = query_str(request, "strategy_id")
    instrument_id = query_str(request, "instrument_id")
    status = query_choice(request, "status", _STATUSES)
    only_open = query_choice(request, "open", frozenset({"true", "false"})) == "true"
    source = (graph.orders.open_orders(strategy_id=strategy_id) if only_open
              else graph.orders.orders(strategy_id=strategy_id))
    items = [(o.client_order_id, o) for o in reversed(source)
             if instrument_id in (None, o.instrument_id) and status in (None, o.status)]
    return json_response(page(request, "orders", items))


async def get_order(request: Request) -> Response:
    """One order by client order id: open, or closed and still kept (else 404)."""
    graph = _reader(request).graph()
    return json_response(_require_order(graph.orders.order(
        request.path_params["client_order_id"]), request.path_params["client_order_id"]))


async def fills(request: Request) -> Response:
    """Recent fills (the latest the retention keeps), newest first, filtered by strategy
    and instrument, paginated."""
    graph = _reader(request).graph()
    strategy_id = query_str(request, "strategy_id")
    instrument_id = query_str(request, "instrument_id")
    # A fill's number (its place among every fill this session) is its stable key: it
    # stays when older fills are let go. A cursor of a fill let go since is a 400.
    book = graph.portfolio.fills_from(0)
    items = [(number, f) for number, f in reversed(book)
             if strategy_id in (None, f.strategy_id) and instrument_id in (None, f.instrument_id)]
    return json_response(page(request, "fills", items))


async def trading_state(request: Request) -> Response:
    graph = _reader(request).graph()
    return json_response({"state": str(graph.risk.trading_state).upper()})


# -- changes -----------------------------------------------------------------------------


async def submit_order(request: Request) -> Response:
    """Place a manual order: it enters at risk under strategy id "manual" as an input.

    The response says what became of it at once: denied (with risk's reason),
    submitted (on its way, or working) or accepted/filled by the venue.
    """
    api = _writer(request)
    body = await read_body(request, OrderRequest, limit=api.config.max_body_bytes)
    graph = api.graph()
    _check_order(body, known=graph.instruments.get(body.instrument_id) is not None)
    client_order_id = api.next_client_order_id(MANUAL_STRATEGY_ID)
    now = api.now_ns()
    api.inject(SubmitOrder(
        strategy_id=MANUAL_STRATEGY_ID, client_order_id=client_order_id,
        instrument_id=body.instrument_id, side=body.side, order_type=body.order_type,
        quantity=body.quantity, price=body.price, trigger_price=body.trigger_price,
        time_in_force=body.time_in_force, expire_ns=body.expire_ns,
        reduce_only=body.reduce_only, post_only=body.post_only,
        trailing_offset=body.trailing_offset, trailing_offset_type=body.trailing_offset_type,
        limit_offset=body.limit_offset, trigger_type=body.trigger_type,
        ts_event=now, ts_init=now,
    ))
    order = _require_order(graph.orders.order(client_order_id), client_order_id)
    outcome = "denied" if order.status is OrderStatus.DENIED else str(order.status)
    return json_response({"outcome": outcome, "reason": order.reason, "order": order},
                         status=201 if outcome != "denied" else 200)


async def cancel_order(request: Request) -> Response:
    """Cancel one open order (any strategy's); the response is its state right after."""
    api = _writer(request)
    graph = api.graph()
    client_order_id = request.path_params["client_order_id"]
    order = _require_order(graph.orders.order(client_order_id), client_order_id)
    if order.status.is_closed:
        raise ApiError(409, f"order {client_order_id}: is {order.status}, not open")
    api.inject(_cancel(order, api.now_ns()))
    return json_response({"order": graph.orders.order(client_order_id)})


async def cancel_orders(request: Request) -> Response:
    """Cancel every open order, or those of one strategy or instrument."""
    api = _writer(request)
    graph = api.graph()
    strategy_id = query_str(request, "strategy_id")
    instrument_id = query_str(request, "instrument_id")
    targets = graph.orders.open_orders(strategy_id=strategy_id, instrument_id=instrument_id)
    for order in targets:
        api.inject(_cancel(order, api.now_ns()))
    return json_response({"canceled": [o.client_order_id for o in targets],
                          "orders": [graph.orders.order(o.client_order_id) for o in targets]})


async def set_trading_state(request: Request) -> Response:
    """The kill switch: ACTIVE, REDUCING or HALTED, as a `SetTradingState` input."""
    api = _writer(request)
    body = await read_body(request, TradingStateRequest, limit=api.config.max_body_bytes)
    graph = api.graph()
    now = api.now_ns()
    api.inject(SetTradingState(state=TradingState(body.state.lower()), reason=body.reason,
                               ts_event=now, ts_init=now))
    return json_response({"state": str(graph.risk.trading_state).upper()})


# -- helpers ------------------------------------------------------------------------------


def _cancel(order: Order, now: int) -> CancelOrder:
    return CancelOrder(strategy_id=order.strategy_id, client_order_id=order.client_order_id,
                       instrument_id=order.instrument_id, ts_event=now, ts_init=now)


def _require_order(order: Order | None, client_order_id: str) -> Order:
    if order is None:
        raise ApiError(404, f"order {client_order_id[:60]}: unknown")
    return order


def _check_order(body: OrderRequest, *, known: bool) -> None:
    # What a Struct cannot say (msgspec has no bounds on Decimal); risk checks the rest.
    _positive("quantity", body.quantity)
    for name, value in (("price", body.price), ("trigger_price", body.trigger_price),
                        ("trailing_offset", body.trailing_offset)):
        if value is not None:
            _positive(name, value)
    if body.limit_offset is not None:
        _positive("limit_offset", body.limit_offset, zero=True)
    order_type = body.order_type
    for name, value, needed_by in (
        ("price", body.price, LIMIT_PRICED_TYPES),
        ("trigger_price", body.trigger_price, TRIGGER_PRICED_TYPES),
        ("trailing_offset", body.trailing_offset, TRAILING_TYPES),
        ("limit_offset", body.limit_offset, _NEEDS_LIMIT_OFFSET),
    ):
        if order_type in needed_by and value is None:
            raise ApiError(422, f"field $.{name}: required for a {order_type} order",
                           field=f"$.{name}")
    if body.time_in_force is TimeInForce.GTD and body.expire_ns is None:
        raise ApiError(422, "field $.expire_ns: required for a gtd order", field="$.expire_ns")
    if not known:
        raise ApiError(422, f"field $.instrument_id: {body.instrument_id[:60]!r} is not an "
                       "instrument of this node", field="$.instrument_id")


def _positive(name: str, value: Decimal, *, zero: bool = False) -> None:
    # Bounded too: an absurd magnitude or precision would reach risk's arithmetic.
    try:
        ok = (value.is_finite() and (_ZERO <= value if zero else _ZERO < value)
              and value < _TOO_LARGE and int(value.as_tuple().exponent) >= -_MAX_PLACES)
    except InvalidOperation:
        ok = False
    if not ok:
        least = ">= 0" if zero else "> 0"
        raise ApiError(422, f"field $.{name} {str(value)[:40]}: must be a number {least} and "
                       f"< {_TOO_LARGE}, with at most {_MAX_PLACES} decimal places",
                       field=f"$.{name}")


ROUTES = (
    Route("/api/v1/portfolio", portfolio, methods=["GET"]),
    Route("/api/v1/positions", positions, methods=["GET"]),
    Route("/api/v1/orders", list_orders, methods=["GET"]),
    Route("/api/v1/orders", submit_order, methods=["POST"]),
    Route("/api/v1/orders", cancel_orders, methods=["DELETE"]),
    Route("/api/v1/orders/{client_order_id}", get_order, methods=["GET"]),
    Route("/api/v1/orders/{client_order_id}", cancel_order, methods=["DELETE"]),
    Route("/api/v1/fills", fills, methods=["GET"]),
    Route("/api/v1/trading-state", trading_state, methods=["GET"]),
    Route("/api/v1/trading-state", set_trading_state, methods=["PUT"]),
)
