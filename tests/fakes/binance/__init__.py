"""A fake Binance spot exchange that speaks the real wire, for driving the real ccxt client.

Why: the ccxt adapter's reliability (orders never lost or doubled through outages,
missed private-stream events, unanswered submits) can only be tested against something
that talks exactly as Binance does, fails as Binance does, and can be made to fail on
purpose. This package is that peer, on 127.0.0.1, inside the test's event loop.

Layout:
- `exchange.py`: the state, pure and synchronous (book, matching, orders, trades,
  balances) and the wire messages every change publishes;
- `app.py`: the Starlette app, REST under /api/v3 and the WebSockets /stream/{n}
  (market streams) and /ws-api/v3 (the user data stream by signature subscription);
- `server.py`: `FakeBinance` (state + test controls) and `running_fake()`, which
  serves it with uvicorn on a free port.

Use::

    async with running_fake() as fake:
        fake.set_level("SELL", "100.01", "5")
        exchange = make_exchange(CcxtConfig(..., urls=fake.urls))

What it does not do: HMAC verification (a `signature` must be present), rate limits,
order types beyond MARKET / LIMIT / LIMIT_MAKER, self-trade prevention.
"""

from tests.fakes.binance.exchange import BinanceError, FakeOrder, FakeState, FakeSymbol, FakeTrade
from tests.fakes.binance.server import BTCUSDT, FakeBinance, running_fake

__all__ = (
    "BTCUSDT",
    "BinanceError",
    "FakeBinance",
    "FakeOrder",
    "FakeState",
    "FakeSymbol",
    "FakeTrade",
    "running_fake",
)
