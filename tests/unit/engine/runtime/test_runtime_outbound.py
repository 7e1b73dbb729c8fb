"""The durable outbox: a command is released only once the journal has committed it.

The journal is a real `JournalWriter` on a temporary file, checked from a separate
sqlite3 connection (what a crash would leave behind); a small barrier fake is used only
where the test must hold the commit back on purpose.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import anyio
import pytest

from engine.domain.enums import OrderSide, OrderType
from engine.events.orders import SubmitOrder
from engine.persistence import JournalWriter
from engine.runtime import DurableOutbox
from engine.testing import INSTRUMENT_ID, make_bars
from engine.topics import bars_topic, venue_endpoint

pytestmark = pytest.mark.anyio

ENDPOINT = venue_endpoint("SIM")
BARS = bars_topic(INSTRUMENT_ID, "1m")


def submit(number: int) -> SubmitOrder:
    return SubmitOrder(
        strategy_id="strategy", client_order_id=f"O-{number}", instrument_id=INSTRUMENT_ID,
        side=OrderSide.BUY, order_type=OrderType.MARKET, quantity=Decimal(1),
        ts_event=number, ts_init=number,
    )


def durable_kinds(path: Path) -> dict[int, str]:
    """What another process would read from the file now: seq -> kind."""
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return dict(connection.execute("SELECT seq, kind FROM journal ORDER BY seq").fetchall())
    finally:
        connection.close()


async def test_outbox_get_returns_command_only_once_journal_committed_it(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    async with JournalWriter(path) as journal:
        outbox = DurableOutbox(journal)
        for bar in make_bars([100.0, 101.0, 102.0], start_ns=0):
            journal.append(BARS, bar, is_input=True)
        command = submit(1)
        seq = journal.append(ENDPOINT, command)  # the bus observer journals it first
        outbox.put(command)
        assert durable_kinds(path) == {}  # appended, not yet durable: must not leave
        released = await outbox.get()
        assert released is command
        assert durable_kinds(path)[seq] == "command.submit_order"
        assert journal.last_committed_seq >= seq


async def test_outbox_with_flusher_running_releases_in_order_each_durable(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal.sqlite"
    released: list[tuple[str, bool]] = []
    async with JournalWriter(path, flush_interval_s=0.05) as journal:
        outbox = DurableOutbox(journal)
        async with anyio.create_task_group() as group:
            await group.start(journal.run)
            seqs: dict[str, int] = {}
            for number in range(1, 6):
                command = submit(number)
                seqs[command.client_order_id] = journal.append(ENDPOINT, command)
                outbox.put(command)
            with anyio.fail_after(5):
                for _ in range(5):
                    command = await outbox.get()
                    durable = durable_kinds(path)
                    released.append((command.client_order_id,
                                     seqs[command.client_order_id] in durable))
            group.cancel_scope.cancel()
    assert released == [(f"O-{number}", True) for number in range(1, 6)]
    statistics = outbox.statistics()
    assert (statistics.queued, statistics.released, statistics.pending) == (5, 5, 0)


async def test_outbox_get_empty_waits_for_a_put(tmp_path: Path) -> None:
    async with JournalWriter(tmp_path / "journal.sqlite") as journal:
        outbox = DurableOutbox(journal)
        released: list[SubmitOrder] = []

        async def sender() -> None:
            released.append(await outbox.get())

        with anyio.fail_after(5):
            async with anyio.create_task_group() as group:
                group.start_soon(sender)
                await anyio.wait_all_tasks_blocked()
                assert released == []
                command = submit(1)
                journal.append(ENDPOINT, command)
                outbox.put(command)
        assert released == [command]


class HeldBarrier:
    """A journal whose commits the test releases by hand (to watch the outbox wait)."""

    def __init__(self) -> None:
        self.last_appended_seq = 0
        self.committed = 0
        self._changed = anyio.Event()

    def append(self) -> int:
        self.last_appended_seq += 1
        return self.last_appended_seq

    def commit(self, seq: int) -> None:
        self.committed = seq
        self._changed.set()
        self._changed = anyio.Event()

    async def wait_committed(self, seq: int) -> None:
        while self.committed < seq:
            await self._changed.wait()


async def test_outbox_get_uncommitted_command_waits_for_its_commit() -> None:
    barrier = HeldBarrier()
    outbox = DurableOutbox(barrier)
    barrier.append()
    outbox.put(submit(1))
    barrier.append()  # appended after the put: the first command need not wait for it
    barrier.append()
    outbox.put(submit(2))
    released: list[str] = []

    async def sender() -> None:
        while len(released) < 2:
            released.append((await outbox.get()).client_order_id)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(sender)
            await anyio.wait_all_tasks_blocked()
            assert released == [] and outbox.statistics().pending == 2
            barrier.commit(1)
            await anyio.wait_all_tasks_blocked()
            assert released == ["O-1"]
            barrier.commit(2)
            await anyio.wait_all_tasks_blocked()
            assert released == ["O-1"]  # its barrier is seq 3
            barrier.commit(3)
    assert released == ["O-1", "O-2"]
