"""A paper session of the daemon on the fake Binance's live trades: `kind = "ccxt"` feed,
`kind = "sim"` venue.

The daemon file is the bundled paper config with its replay feed swapped for a ccxt feed
of the fake's trades, the clock at the wall (live data) and the API off. A strategy
written by the test buys on the first trade it sees; the simulated venue fills it on
the next. The journal then holds the fake's trades (as the node's inputs, stamped with
the exchange's time) and the fill, and the session's recording the same trades.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import anyio
import pytest

from adapters.data.recording import RecordingSource
from api.compose import (
    DEFAULT_DAEMON_CONFIG,
    build_node,
    default_registry,
    load_daemon_config,
)
from engine.persistence import JournalReader
from tests.fakes.binance import running_fake
from tests.fakes.binance.exchange import ORIGIN_MS

pytestmark = pytest.mark.integration

STRATEGY_MODULE = '''
"""Buy once, on the first trade (written by the test, imported by the daemon)."""

from engine.domain.enums import OrderSide
from engine.strategy import Strategy


class BuysFirstTrade(Strategy):
    def on_start(self):
        self.bought = False
        self.subscribe_trade_ticks("BTC/USDT.SIM")

    def on_trade_tick(self, tick):
        if not self.bought:
            self.bought = True
            self.market_order("BTC/USDT.SIM", OrderSide.BUY, "0.2")
'''


def paper_on_fake(folder: Path, urls: dict[str, str]) -> Path:
    text = DEFAULT_DAEMON_CONFIG.read_text()
    feed = re.compile(r"\[\[feeds\]\]\n.*?(?=\n\[\[strategies\]\])", re.DOTALL)
    overrides = "\n".join(f'"{original}" = "{replacement}"'
                          for original, replacement in urls.items())
    text = feed.sub('[[feeds]]\nkind = "ccxt"\ninstrument_id = "BTC/USDT.SIM"\n'
                    f'stream = "trades"\nstale_after_s = 5.0\n[feeds.urls]\n{overrides}\n',
                    text)
    strategies = text.index("[[strategies]]")
    text = text[:strategies] + ('[[strategies]]\nid = "first"\n'
                                'class = "buys_first_trade:BuysFirstTrade"\n')
    for key, value in {"speed": "1.0", "clock_origin": '"wall"', "record": "true"}.items():
        text = re.sub(rf"^{key} = .*$", f"{key} = {value}", text, count=1, flags=re.MULTILINE)
    text += "\n[api]\nenabled = false\n"
    path = folder / "paper.toml"
    path.write_text(text)
    return path


async def test_paper_session_on_the_fake_feed_trades_through_the_sim_venue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "buys_first_trade.py").write_text(STRATEGY_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    async with running_fake() as fake:
        registry = default_registry()  # it lists the ccxt feed kind
        config, file = load_daemon_config(paper_on_fake(tmp_path, fake.urls), environ={},
                                          registry=registry)
        node = build_node(config, file=file, cwd=tmp_path, registry=registry)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(node.run)
            price = 100  # one trade a step, the price moving once the feed listens
            with anyio.fail_after(20):
                while price < 104:
                    fake.trade(f"{price}.00", "0.5")
                    price += 1 if fake.open_sockets(private=False) else 0
                    await anyio.sleep(0.2)
            node.request_stop()

    records = list(JournalReader(tmp_path / "tradebus-data" / "journal.sqlite").records())
    ticks = [r.message for r in records if r.kind == "trade_tick" and r.is_input]
    fills = [r.message for r in records if r.kind == "order.filled"
             and r.topic.startswith("events.order")]  # as published (once), not as sent
    printed = {float(value) for value in range(100, price + 1)}
    assert ticks and {tick.price for tick in ticks} <= printed  # type: ignore[attr-defined]
    assert all(ORIGIN_MS < tick.ts_event // 1_000_000 <= fake.state.now_ms  # type: ignore[attr-defined]
               for tick in ticks)  # the exchange's time, not the engine's
    assert len(fills) == 1 and fills[0].last_quantity == Decimal("0.2")  # type: ignore[attr-defined]
    assert fills[0].last_price in {Decimal(value) for value in range(100, price + 1)}  # type: ignore[attr-defined]
    assert min(r.seq for r in records if r.kind == "order.filled") > min(
        r.seq for r in records if r.kind == "trade_tick")
    recorded = list(RecordingSource(tmp_path / "tradebus-data" / "recording.sqlite"))
    assert [item.price for item in recorded] == [tick.price for tick in ticks]  # type: ignore[attr-defined]
