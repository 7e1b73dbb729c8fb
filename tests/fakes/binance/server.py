"""FakeBinance: the fake exchange served on 127.0.0.1, and what a test does to it.

`async with running_fake() as fake:` starts uvicorn in the test's own event loop on a
free port (one loop: the test reads and changes the exchange's state between two
awaits without locks) and stops it on exit. `fake.urls` is the URL override a ccxt
client is built with (the production hosts mapped to the fake's).

Test controls (each takes effect on the next matching request or message):
- the market: `set_level`, `trade`, `trade_through`, `kline` (`fake.state` holds the rest);
- `fail_next(code, msg, status, method=, path=)`: refuse a request with a Binance error;
- `hold_next_submit(place=True)`: never answer the next order POST (placing the order
  first when `place`), until `release_held` or the end; `delay_next_submit(seconds)`;
- `drop(private=)`: close every market (or private) socket;
- `skip_private(n)`: swallow the next n `executionReport`s;
- `gap_book()`: the next depth diff skips update ids;
- `mute_market(True)`: keep market sockets open and silent (a stale feed).
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import anyio
import uvicorn

from tests.fakes.binance.app import build_app
from tests.fakes.binance.exchange import BinanceError, FakeState, FakeSymbol

__all__ = ("BTCUSDT", "FakeBinance", "running_fake")

BTCUSDT = FakeSymbol(symbol="BTCUSDT", base="BTC", quote="USDT",
                     tick_size=Decimal("0.01"), step_size=Decimal("0.00001"),
                     min_qty=Decimal("0.00001"), min_notional=Decimal("5"))


@dataclass
class _Connection:
    private: bool
    closed: anyio.Event


@dataclass
class _Failure:
    error: BinanceError
    method: str | None
    path: str | None


class FakeBinance:
    """The exchange's state plus the test controls (see the module docstring)."""

    def __init__(self, *, api_key: str = "fake-key",
                 balances: dict[str, Decimal] | None = None) -> None:
        self.api_key = api_key
        self.state = FakeState(
            symbols={BTCUSDT.symbol: BTCUSDT},
            balances=dict(balances or {"USDT": Decimal(100_000), "BTC": Decimal(10)}),
        )
        self.port = 0
        self.requests: list[str] = []
        """Every REST request, as "METHOD /path", in order."""
        self.socket_methods: list[str] = []
        """Every WebSocket request's method (SUBSCRIBE, userDataStream...), in order."""
        self.klines: list[list[Any]] = []
        self.market_muted = False
        self.user_subscriptions = 0
        self.connections_opened = {False: 0, True: 0}
        self._connections: list[_Connection] = []
        self._failures: list[_Failure] = []
        self._hold: bool | None = None
        self._delay_s = 0.0
        self._released = anyio.Event()
        self.held_submits = 0

    # -- where it is ------------------------------------------------------------------------

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def urls(self) -> dict[str, str]:
        """Production URL prefixes mapped to the fake (a ccxt venue config's `urls`)."""
        return {
            "https://api.binance.com": self.rest_url,
            "wss://stream.binance.com:9443/ws": f"ws://127.0.0.1:{self.port}/stream",
            "wss://ws-api.binance.com:443/ws-api/v3": f"ws://127.0.0.1:{self.port}/ws-api/v3",
        }

    # -- the market ---------------------------------------------------------------------------

    def set_level(self, side: str, price: str, quantity: str, symbol: str = "BTCUSDT") -> None:
        self.state.set_level(symbol, side, Decimal(price), Decimal(quantity))

    def trade(self, price: str, quantity: str, symbol: str = "BTCUSDT") -> None:
        self.state.public_trade(symbol, Decimal(price), Decimal(quantity))

    def trade_through(self, price: Decimal, max_quantity: Decimal | None = None,
                      symbol: str = "BTCUSDT") -> int:
        return self.state.trade_through(symbol, price, max_quantity)

    # -- faults ----------------------------------------------------------------------------

    def fail_next(self, code: int, msg: str, status: int = 400, *,
                  method: str | None = None, path: str | None = None) -> None:
        self._failures.append(_Failure(BinanceError(code, msg, status), method, path))

    def take_failure(self, method: str, path: str) -> BinanceError | None:
        for failure in self._failures:
            if failure.method in (None, method) and failure.path in (None, path):
                self._failures.remove(failure)
                return failure.error
        return None

    def hold_next_submit(self, *, place: bool = True) -> None:
        self._hold = place
        self._released = anyio.Event()

    def release_held(self) -> None:
        self._released.set()

    def delay_next_submit(self, seconds: float) -> None:
        self._delay_s = seconds

    def skip_private(self, count: int = 1) -> None:
        self.state.skip_private += count

    def gap_book(self) -> None:
        self.state.gap_next_depth = True

    def mute_market(self, muted: bool = True) -> None:
        self.market_muted = muted

    def drop(self, *, private: bool) -> int:
        """Close every market (private=False) or private socket; return how many."""
        dropped = [c for c in self._connections if c.private is private]
        for connection in dropped:
            connection.closed.set()
        return len(dropped)

    def open_sockets(self, *, private: bool) -> int:
        return sum(1 for c in self._connections if c.private is private)

    # -- used by the app ---------------------------------------------------------------------

    async def place(self, params: dict[str, str]) -> dict[str, Any]:
        hold, self._hold = self._hold, None
        delay, self._delay_s = self._delay_s, 0.0
        if hold is not None:
            self.held_submits += 1
            if hold:
                self.state.submit(params)
            await self._released.wait()
            raise BinanceError(-1007, "Timeout waiting for response from backend server. "
                                      "Send status unknown; execution status unknown.", 408)
        if delay:
            await anyio.sleep(delay)
        order = self.state.submit(params)
        answer = order.rest()
        answer["transactTime"] = order.time_ms
        answer["fills"] = [
            {"price": f"{t.price:.8f}", "qty": f"{t.quantity:.8f}",
             "commission": f"{t.commission:.8f}", "commissionAsset": t.commission_asset,
             "tradeId": t.trade_id}
            for t in self.state.trades if t.order_id == order.order_id
        ]
        return answer

    def connect(self, private: bool, closed: anyio.Event) -> _Connection:
        connection = _Connection(private, closed)
        self._connections.append(connection)
        self.connections_opened[private] += 1
        return connection

    def disconnect(self, connection: _Connection) -> None:
        if connection in self._connections:
            self._connections.remove(connection)


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@asynccontextmanager
async def running_fake(**options: Any) -> AsyncIterator[FakeBinance]:
    """Serve a new FakeBinance on a free port of 127.0.0.1 while the block runs."""
    fake = FakeBinance(**options)
    sock = _free_socket()
    fake.port = sock.getsockname()[1]
    config = uvicorn.Config(build_app(fake), log_level="warning", lifespan="off",
                            ws="websockets-sansio", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(server.serve, [sock])
        with anyio.fail_after(5):
            while not server.started:  # noqa: ASYNC110 (uvicorn offers a flag, no event)
                await anyio.sleep(0.005)
        try:
            yield fake
        finally:
            fake.release_held()
            for connection in list(fake._connections):
                connection.closed.set()
            server.should_exit = True
    sock.close()
