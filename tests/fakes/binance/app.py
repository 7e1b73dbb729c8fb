"""The fake's wire: Binance's REST routes under /api/v3 and its two WebSocket endpoints.

`build_app(fake)` returns the Starlette app over a `FakeBinance` (its state and its
test controls). REST answers are Binance's JSON, errors `{"code": ..., "msg": ...}`
with Binance's HTTP status. Signed routes need the `X-MBX-APIKEY` header to name the
fake's key (else -2015) and a `signature` parameter (accepted, not verified: the fake
checks that ccxt signs, not HMAC itself).

WebSockets:
- `/stream/{n}`: market streams. `{"method": "SUBSCRIBE", "params": [...], "id": N}` is
  answered `{"result": null, "id": N}`; then the subscribed streams' raw payloads
  (`<symbol>@trade`, `@kline_<interval>`, `@bookTicker`, `@depth...`).
- `/ws-api/v3`: the WebSocket API; `userDataStream.subscribe.signature` answers
  `{"id", "status": 200, "result": {"subscriptionId": n}}`, then every
  `executionReport` and `outboundAccountPosition` comes as
  `{"subscriptionId": n, "event": {...}}`.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import anyio
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from tests.fakes.binance.exchange import BinanceError

if TYPE_CHECKING:
    from tests.fakes.binance.server import FakeBinance

__all__ = ("build_app",)

logger = logging.getLogger(__name__)


def _json(payload: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json")


def _error(error: BinanceError) -> Response:
    return _json({"code": error.code, "msg": error.msg}, error.status)


def build_app(fake: FakeBinance) -> Starlette:
    """The Starlette app serving `fake` (see the module docstring)."""
    state = fake.state

    async def params_of(request: Request) -> dict[str, str]:
        params = dict(request.query_params)
        body = await request.body()
        if body:
            params.update(parse_qsl(body.decode(), keep_blank_values=True))
        return params

    def check_signed(request: Request, params: dict[str, str]) -> None:
        if request.headers.get("x-mbx-apikey") != fake.api_key:
            raise BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        if "signature" not in params:
            raise BinanceError(-1102, "Mandatory parameter 'signature' was not sent, was "
                                      "empty/null, or malformed.")

    async def handle(request: Request, signed: bool, answer: Any) -> Response:
        fake.requests.append(f"{request.method} {request.url.path}")
        try:
            params = await params_of(request)
            if signed:
                check_signed(request, params)
            failure = fake.take_failure(request.method, request.url.path)
            if failure is not None:
                raise failure
            return _json(await answer(params))
        except BinanceError as error:
            return _error(error)

    async def exchange_info(request: Request) -> Response:
        async def answer(params: dict[str, str]) -> Any:
            return {"timezone": "UTC", "serverTime": state.now_ms, "rateLimits": [],
                    "exchangeFilters": [],
                    "symbols": [s.exchange_info() for s in state.symbols.values()]}
        return await handle(request, False, answer)

    async def server_time(request: Request) -> Response:
        async def answer(params: dict[str, str]) -> Any:
            return {"serverTime": state.now_ms}
        return await handle(request, False, answer)

    async def depth(request: Request) -> Response:
        async def answer(params: dict[str, str]) -> Any:
            symbol = state._symbol(params.get("symbol")).symbol
            return state.depth(symbol, int(params.get("limit", 100)))
        return await handle(request, False, answer)

    async def book_ticker(request: Request) -> Response:
        async def answer(params: dict[str, str]) -> Any:
            symbol = state._symbol(params.get("symbol")).symbol
            bid = state.best(symbol, "BUY")
            ask = state.best(symbol, "SELL")
            return {"symbol": symbol,
                    "bidPrice": str(bid[0]) if bid else "0", "bidQty": str(bid[1]) if bid else "0",
                    "askPrice": str(ask[0]) if ask else "0", "askQty": str(ask[1]) if ask else "0"}
        return await handle(request, False, answer)

    async def klines(request: Request) -> Response:
        async def answer(params: dict[str, str]) -> Any:
            state._symbol(params.get("symbol"))
            return list(fake.klines)
        return await handle(request, False, answer)

    async def order(request: Request) -> Response:
        async def answer(params: dict[str, str]) -> Any:
            if request.method == "POST":
                return await fake.place(params)
            if request.method == "DELETE":
                # as Binance answers: the cancel request's own client id, and the order's
                canceled = state.cancel(params).rest()
                canceled["origClientOrderId"] = canceled["clientOrderId"]
                canceled["clientOrderId"] = (params.get("newClientOrderId")
                                             or f"cancel-{canceled['orderId']}")
                return canceled
            found = state.find(params)
            if found is None:
                raise BinanceError(-2013, "Order does not exist.")
            return found.rest()
        return await handle(request, True, answer)

    async def open_orders(request: Request) -> Response:
        async def answer(params: dict[str, str]) -> Any:
            symbol = params.get("symbol")
            if symbol is not None:
                state._symbol(symbol)
            return [o.rest() for o in state.open_orders(symbol)]
        return await handle(request, True, answer)

    async def my_trades(request: Request) -> Response:
        async def answer(params: dict[str, str]) -> Any:
            return [t.rest() for t in state.my_trades(params)]
        return await handle(request, True, answer)

    async def account(request: Request) -> Response:
        async def answer(params: dict[str, str]) -> Any:
            return state.account()
        return await handle(request, True, answer)

    async def market_stream(websocket: WebSocket) -> None:
        await _serve_socket(fake, websocket, private=False)

    async def ws_api(websocket: WebSocket) -> None:
        await _serve_socket(fake, websocket, private=True)

    routes = [
        Route("/api/v3/exchangeInfo", exchange_info),
        Route("/api/v3/time", server_time),
        Route("/api/v3/depth", depth),
        Route("/api/v3/ticker/bookTicker", book_ticker),
        Route("/api/v3/klines", klines),
        Route("/api/v3/order", order, methods=["GET", "POST", "DELETE"]),
        Route("/api/v3/openOrders", open_orders),
        Route("/api/v3/myTrades", my_trades),
        Route("/api/v3/account", account),
        WebSocketRoute("/stream/{index}", market_stream),
        WebSocketRoute("/ws-api/v3", ws_api),
    ]
    return Starlette(routes=routes)


def _stream_matches(name: str, message: dict[str, Any]) -> bool:
    """Does the subscribed stream `name` (e.g. "btcusdt@kline_1m") carry `message`?"""
    symbol, _, channel = name.partition("@")
    if message.get("s", "").lower() != symbol:
        return False
    event = message.get("e")
    if event is None:
        return channel == "bookTicker"
    if event == "depthUpdate":
        return channel.startswith("depth")
    if event == "kline":
        return channel == f"kline_{message['k']['i']}"
    return bool(channel == event)


async def _serve_socket(fake: FakeBinance, websocket: WebSocket, *, private: bool) -> None:
    """One connection: its subscriptions, and everything the exchange publishes to them."""
    await websocket.accept()
    send, receive = anyio.create_memory_object_stream[bytes](max_buffer_size=math.inf)
    streams: set[str] = set()
    user_subscription: list[int] = []
    closed = anyio.Event()

    def forward(channel: str, message: dict[str, Any]) -> None:
        if private and channel == "user" and user_subscription:
            payload = {"subscriptionId": user_subscription[0], "event": message}
            send.send_nowait(orjson.dumps(payload))
        elif not private and channel == "market" and not fake.market_muted and any(
                _stream_matches(name, message) for name in streams):
            send.send_nowait(orjson.dumps(message))

    connection = fake.connect(private, closed)
    fake.state.listen(forward)

    async def writer() -> None:
        try:
            async for payload in receive:
                await websocket.send_text(payload.decode())
        except Exception:  # the peer went away mid-send: the connection is over
            closed.set()

    async def reader() -> None:
        try:
            await read_requests()
        finally:
            closed.set()

    async def read_requests() -> None:
        while True:
            try:
                text = await websocket.receive_text()
            except (WebSocketDisconnect, RuntimeError):
                return
            request = orjson.loads(text)
            request_id = request.get("id")
            method = request.get("method")
            fake.socket_methods.append(str(method))
            if method == "SUBSCRIBE":
                streams.update(request.get("params", []))
                send.send_nowait(orjson.dumps({"result": None, "id": request_id}))
            elif method == "UNSUBSCRIBE":
                streams.difference_update(request.get("params", []))
                send.send_nowait(orjson.dumps({"result": None, "id": request_id}))
            elif method == "userDataStream.subscribe.signature":
                params = request.get("params", {})
                if params.get("apiKey") != fake.api_key or "signature" not in params:
                    send.send_nowait(orjson.dumps({
                        "id": request_id, "status": 401,
                        "error": {"code": -2015, "msg": "Invalid API-key, IP, or "
                                                        "permissions for action."}}))
                    continue
                fake.user_subscriptions += 1
                user_subscription[:] = [fake.user_subscriptions]
                send.send_nowait(orjson.dumps({
                    "id": request_id, "status": 200,
                    "result": {"subscriptionId": user_subscription[0]}}))
            else:
                send.send_nowait(orjson.dumps({
                    "id": request_id, "status": 400,
                    "error": {"code": -1100, "msg": f"unknown method {method!r}"}}))

    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(writer)
            tasks.start_soon(reader)
            await closed.wait()  # the test dropped it, or the reader ended
            tasks.cancel_scope.cancel()
    finally:
        fake.state.unlisten(forward)
        fake.disconnect(connection)
        send.close()
        receive.close()
        try:
            await websocket.close()
        except Exception:  # already closed by the peer
            logger.debug("socket already closed")
