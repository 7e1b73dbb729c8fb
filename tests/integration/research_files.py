"""The backtest part the research integration tests share: one SMA cross on `bars.csv`.

Each test appends its own research tables ([optimize], [walk_forward], ...) to it.
"""

from __future__ import annotations

_BACKTEST = """

[portfolio]
account_id = "SIM-001"
base_currency = "USDT"
starting_balances = { USDT = "1000000" }
equity_interval_ns = 600_000_000_000

[[instruments]]
symbol = "BTC/USDT"
base_currency = "BTC"
quote_currency = "USDT"
price_increment = "0.01"
size_increment = "0.001"
taker_fee = "0.001"

[[data]]
kind = "csv"
path = "bars.csv"
instrument_id = "BTC/USDT.SIM"

[[strategies]]
id = "sma-cross"
class = "strategies.sma_cross:SmaCross"
[strategies.params]
instrument_id = "BTC/USDT.SIM"

"""


def sma_backtest(name: str) -> str:
    """A backtest file's text named `name`, reading `bars.csv` beside it."""
    return f'\n[backtest]\nname = "{name}"\n' + _BACKTEST
