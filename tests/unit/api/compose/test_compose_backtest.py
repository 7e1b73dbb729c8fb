"""One environment serves every command: a backtest applies its own TRADEBUS__ overrides,
leaves the daemon's to the daemon, and still refuses a section no command has."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from adapters.data import sample_bars_path
from api.compose import prepare_backtest
from api.compose.backtest import DEFAULT_BACKTEST_CONFIG
from engine.errors import ConfigError


def test_a_backtest_leaves_the_daemons_overrides_and_applies_its_own() -> None:
    prepared = prepare_backtest(None, environ={
        "TRADEBUS__API__PORT": "9000",  # the daemon's section
        "TRADEBUS__RUNTIME__SPEED": "60",  # the daemon's section
        "TRADEBUS__BACKTEST__NAME": '"from-env"',
    })

    assert prepared.config.backtest.name == "from-env"


def test_a_backtest_refuses_an_override_for_a_section_no_command_has() -> None:
    with pytest.raises(ConfigError) as caught:
        prepare_backtest(None, environ={"TRADEBUS__BAKTEST__NAME": '"typo"'})

    assert caught.value.path == "$.baktest"


def test_a_cash_account_rejects_what_the_balance_cannot_cover_and_the_backtest_goes_on() -> None:
    plain = prepare_backtest(None, environ={}).run()
    covered = prepare_backtest(None, environ={"TRADEBUS__VENUE__CASH_ACCOUNT": "true"}).run()
    short = prepare_backtest(None, environ={
        "TRADEBUS__VENUE__CASH_ACCOUNT": "true",
        "TRADEBUS__PORTFOLIO__STARTING_BALANCES": '{USDT = "3000"}'}).run()

    # Every order of the bundled demo is covered by its 10,000,000 USDT: the same run.
    assert (covered.fills, covered.balances) == (plain.fills, plain.balances)
    # With 3,000 USDT no buy is covered: each is rejected with the reason, none fills.
    assert short.fills == [] and short.balances == {"USDT": Decimal("3000")}
    assert len(short.orders) > 10
    assert all(str(order.status) == "rejected" and order.reason.startswith(
        "insufficient balance: the order needs ") for order in short.orders)


def perpetual_backtest(folder: Path, funding_rows: str) -> Path:
    """The bundled demo on a perpetual at a 10x margin venue, with a funding file."""
    demo = DEFAULT_BACKTEST_CONFIG.read_text()
    funding = folder / "funding.csv"
    funding.write_text(funding_rows)
    config = demo.replace('[venue]\nvenue = "SIM"\n',
                          '[venue]\nvenue = "SIM"\n[venue.margin]\nleverage = 10.0\n'
                          'maintenance_margin_rate = 0.005\n')
    config = config.replace('taker_fee = "0.001"\n',
                            'taker_fee = "0.001"\ninstrument_class = "perpetual"\n', 1)
    config = config.replace('starting_balances = { USDT = "10000000" }',
                            'starting_balances = { USDT = "100000" }')
    config = config.replace('path = "sample:btcusdt_1m.csv"',
                            f'path = "{sample_bars_path()}"')
    config += f'\n[[funding]]\npath = "{funding}"\ninstrument_id = "BTC/USDT.SIM"\n'
    path = folder / "perpetual.toml"
    path.write_text(config)
    return path


def test_a_perpetual_backtest_from_its_file_pays_funding_and_books_no_btc(
        tmp_path: Path) -> None:
    first_ms = int(sample_bars_path().read_text().splitlines()[1].split(",")[0])
    hours = [first_ms + hour * 3_600_000 for hour in range(8, 320, 8)]
    rows = "ts,rate\n" + "".join(f"{ts},0.0001\n" for ts in hours)

    result = prepare_backtest(perpetual_backtest(tmp_path, rows), environ={}).run()

    assert result.fills and set(result.balances) == {"USDT"}  # no BTC: a perpetual
    payments = result.statistics["portfolio"]["funding_payments"]
    assert payments > 0
    realized = sum((t.realized_pnl for t in result.trades), Decimal(0))
    fees = sum((f.commission for f in result.fills), Decimal(0))
    # balance = start + realized - fees + funding (signs as paid); funding is the rest.
    funding = result.balances["USDT"] - Decimal(100000) - realized + fees
    assert funding != 0


def test_a_funding_file_with_a_bad_row_is_a_config_error_naming_the_line(
        tmp_path: Path) -> None:
    path = perpetual_backtest(tmp_path, "ts,rate\n1700000000000,0.0001\n1700000000000,x\n")

    with pytest.raises(ConfigError) as caught:
        prepare_backtest(path, environ={})

    assert caught.value.path == "$.funding[0].path"
    assert "funding.csv:3: not a number" in str(caught.value)
