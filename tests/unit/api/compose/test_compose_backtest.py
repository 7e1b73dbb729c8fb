"""One environment serves every command: a backtest applies its own TRADEBUS__ overrides,
leaves the daemon's to the daemon, and still refuses a section no command has."""

from __future__ import annotations

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
