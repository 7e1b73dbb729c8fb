"""One environment serves every command: a backtest applies its own TRADEBUS__ overrides,
leaves the daemon's to the daemon, and still refuses a section no command has."""

from __future__ import annotations

from decimal import Decimal

import pytest

from api.compose import prepare_backtest
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
