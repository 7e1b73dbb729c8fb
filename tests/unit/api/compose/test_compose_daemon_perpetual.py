"""A paper daemon trading a perpetual on a margin account: its venue's reconciliation
reports (balances, net positions) agree with the books after a restart, so nothing is
"corrected" that was right."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.domain.enums import InstrumentClass
from tests.unit.api.compose.test_compose_daemon_restart import (
    rsi_config,
    run_and_look,
    run_and_look_fed,
)


def perpetual_config(folder: Path) -> Path:
    path = rsi_config(folder, cancel=False)
    text = path.read_text()
    text = text.replace('kind = "sim"\nvenue = "SIM"\n',
                        'kind = "sim"\nvenue = "SIM"\n[venues.margin]\nleverage = 5.0\n'
                        'maintenance_margin_rate = 0.01\n', 1)
    text = text.replace('taker_fee = "0.001"\n',
                        'taker_fee = "0.001"\ninstrument_class = "perpetual"\n', 1)
    assert "[venues.margin]" in text and 'instrument_class = "perpetual"' in text
    path.write_text(text)
    return path


@pytest.mark.anyio
async def test_a_restarted_perpetual_session_reconciles_with_nothing_corrected(
        tmp_path: Path) -> None:
    path = perpetual_config(tmp_path)
    first = await run_and_look_fed(path)
    assert first.graph is not None
    instrument = first.graph.instruments.require("BTC/USDT.SIM")
    assert instrument.instrument_class is InstrumentClass.PERPETUAL
    long = first.graph.portfolio.net_quantity("BTC/USDT.SIM")
    balances = first.graph.portfolio.balances()
    assert long > 0 and set(balances) == {"USDT"}  # a perpetual: no BTC bought

    second, _ = await run_and_look(path)

    assert second.graph is not None
    [report] = second.reconciliations
    assert report.agrees, report
    assert (report.balance_corrections, report.position_adjustments) == (0, 0)
    assert second.graph.portfolio.net_quantity("BTC/USDT.SIM") == long
    assert second.graph.portfolio.balances() == balances
    # What the venue told reconciliation: the same position and balance as the books.
    client = second.venues[0].execution_client()
    assert client is not None
    [position] = await client.positions()
    assert (position.instrument_id, position.quantity) == ("BTC/USDT.SIM", long)
    account = await client.account()
    assert {b.currency: b.total for b in account.balances} == balances
