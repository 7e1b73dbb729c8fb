"""The event journal on real SQLite files: write, read back, checks, sessions and the CLI."""

from __future__ import annotations

import argparse
import json
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, closing
from decimal import Decimal
from pathlib import Path

import anyio
import msgspec
import pytest

from api.cli.journal import add_parser as add_journal_parser, run_journal
from engine.domain.enums import LiquiditySide, OrderSide, OrderType
from engine.errors import ForeignJournal
from engine.events import Message, OrderFilled, SubmitOrder, TimerFired, encode_json
from engine.persistence import (
    JournalReader,
    JournalWriter,
    SessionSummary,
)
from engine.persistence.journal_schema import names_crc, record_crc
from engine.testing.factories import INSTRUMENT_ID, make_bars, make_instrument
from engine.topics import RISK_EXECUTE, bars_topic, instrument_topic, order_topic, system_topic

START_NS = 1_672_531_200_000_000_000
STRATEGY = "sma"


def make_submit(seq: int) -> SubmitOrder:
    return SubmitOrder(
        ts_event=START_NS + seq, ts_init=START_NS + seq, strategy_id=STRATEGY,
        client_order_id=f"{STRATEGY}-{seq}", instrument_id=INSTRUMENT_ID, side=OrderSide.BUY,
        order_type=OrderType.LIMIT, quantity=Decimal("0.001"),
        price=Decimal("30091.123456789012345678901234"),
    )


def make_fill(seq: int) -> OrderFilled:
    return OrderFilled(
        ts_event=START_NS + seq, ts_init=START_NS + seq, strategy_id=STRATEGY,
        client_order_id=f"{STRATEGY}-{seq}", instrument_id=INSTRUMENT_ID,
        venue_order_id=f"SIM-{seq}", trade_id=f"T-{seq}", side=OrderSide.BUY,
        last_quantity=Decimal("0.001"), last_price=Decimal("30091.12"),
        commission=Decimal("0.00000001"), commission_currency="USDT",
        liquidity_side=LiquiditySide.TAKER,
    )


def message_mix() -> list[tuple[str, Message, bool]]:
    """(topic, message, is_input) as a session would journal them: inputs and their effects."""
    bars = make_bars([30_000.0, 30_010.5, 29_990.25], start_ns=START_NS)
    return [
        (instrument_topic(INSTRUMENT_ID), make_instrument(), True),
        (bars_topic(INSTRUMENT_ID, "1m"), bars[0], True),
        (RISK_EXECUTE, make_submit(1), False),
        (order_topic(STRATEGY), make_fill(1), True),
        (bars_topic(INSTRUMENT_ID, "1m"), bars[1], True),
        (system_topic("clock"), TimerFired(ts_event=START_NS, ts_init=START_NS, name="t",
                                           owner=STRATEGY), True),
        (bars_topic(INSTRUMENT_ID, "1m"), bars[2], True),
    ]


@asynccontextmanager
async def running(path: Path, *, batch_max: int = 4096) -> AsyncIterator[JournalWriter]:
    """A writer with its flusher running; stopped and flushed on exit."""
    async with JournalWriter(path, batch_max=batch_max) as journal:
        async with anyio.create_task_group() as group:
            await group.start(journal.run)
            yield journal
            group.cancel_scope.cancel()


def write_journal(path: Path, count: int) -> None:
    """Write `count` bar records (every other one an input) in one session."""

    async def write() -> None:
        async with running(path) as journal:
            for index, bar in enumerate(make_bars([30_000.0] * count, start_ns=START_NS)):
                journal.append(bars_topic(INSTRUMENT_ID, "1m"), bar, is_input=index % 2 == 0)

    anyio.run(write, backend="asyncio")


def execute(path: Path, sql: str, parameters: tuple[object, ...] = ()) -> None:
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.execute(sql, parameters)


# -- writing and reading back ---------------------------------------------------------


@pytest.mark.anyio
async def test_journal_round_trip_mixed_messages_reads_back_equal(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    mix = message_mix()

    async with running(path) as journal:
        seqs = [journal.append(topic, message, is_input=flag) for topic, message, flag in mix]
        await journal.flush()
        statistics = journal.statistics()
    reader = JournalReader(path)
    records = list(reader.records())

    assert seqs == list(range(1, len(mix) + 1))
    assert [(r.topic, r.message, r.is_input) for r in records] == mix
    assert [r.seq for r in records] == seqs
    assert [r.kind for r in records] == [
        "instrument", "bar", "command.submit_order", "order.filled", "bar",
        "system.timer_fired", "bar",
    ]
    assert {r.session for r in records} == {1}
    assert [r.ts_init for r in records] == [m.ts_init for _, m, _ in mix]
    assert reader.corruption is None
    assert (statistics.appended, statistics.committed, statistics.pending) == (7, 7, 0)
    assert statistics.bytes_written > 0


@pytest.mark.anyio
async def test_journal_second_session_continues_seq_with_new_session(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    bars = make_bars([30_000.0] * 5, start_ns=START_NS)

    async with running(path) as journal:
        first = [journal.append(bars_topic(INSTRUMENT_ID, "1m"), bar) for bar in bars[:3]]
    async with running(path) as journal:
        second = [journal.append(bars_topic(INSTRUMENT_ID, "1m"), bar, is_input=True)
                  for bar in bars[3:]]
        session = journal.statistics().session
    reader = JournalReader(path)

    assert (first, second, session) == ([1, 2, 3], [4, 5], 2)
    assert [(r.seq, r.session) for r in reader.records()] == [(1, 1), (2, 1), (3, 1), (4, 2),
                                                               (5, 2)]
    assert reader.sessions() == [
        SessionSummary(session=1, first_seq=1, last_seq=3, first_ts=bars[0].ts_init,
                       last_ts=bars[2].ts_init, records=3, inputs=0),
        SessionSummary(session=2, first_seq=4, last_seq=5, first_ts=bars[3].ts_init,
                       last_ts=bars[4].ts_init, records=2, inputs=2),
    ]
    assert (reader.count(), reader.last_seq()) == (5, 5)


@pytest.mark.anyio
async def test_journal_wait_committed_returns_when_another_connection_can_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal.sqlite"

    def visible(seq: int) -> bool:
        with closing(sqlite3.connect(path)) as connection:
            query = "SELECT count(*) FROM journal WHERE seq = ?"
            return bool(connection.execute(query, (seq,)).fetchone()[0])

    async with running(path) as journal:
        seq = journal.append(RISK_EXECUTE, make_submit(1))
        before = visible(seq)
        await journal.wait_committed(seq)
        after = visible(seq)
        committed = journal.last_committed_seq

    assert (before, after, committed) == (False, True, seq)


@pytest.mark.anyio
async def test_journal_wait_committed_without_flusher_commits_itself(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"

    async with JournalWriter(path) as journal:
        seq = journal.append(RISK_EXECUTE, make_submit(1))
        await journal.wait_committed(seq)
        count = JournalReader(path).count()

    assert count == 1


@pytest.mark.anyio
async def test_journal_many_appends_commit_in_few_batches(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    bars = make_bars([30_000.0] * 1000, start_ns=START_NS)

    async with running(path, batch_max=300) as journal:
        last = 0
        for bar in bars:
            last = journal.append(bars_topic(INSTRUMENT_ID, "1m"), bar)
        await journal.wait_committed(last)
        statistics = journal.statistics()

    assert (statistics.committed, statistics.batches, statistics.max_batch) == (1000, 4, 300)


@pytest.mark.anyio
async def test_a_batch_never_ends_inside_one_inputs_records(tmp_path: Path) -> None:
    # One input and what it caused share the input's time (the clock is pinned to it),
    # and a venue's fills are appended before the bar that made them: a batch cut between
    # them would let a kill commit the fill without its bar. The cut stretches past them.
    path = tmp_path / "journal.sqlite"
    bars = make_bars([30_000.0] * 3, start_ns=START_NS)
    fill = msgspec.structs.replace(make_fill(1), ts_init=bars[1].ts_init)
    topic = bars_topic(INSTRUMENT_ID, "1m")

    async with running(path, batch_max=2) as journal:
        journal.append(topic, bars[0], is_input=True)
        journal.append(order_topic(STRATEGY), fill)  # bar 1's fill, before bar 1
        journal.append(order_topic(STRATEGY), fill)
        journal.append(topic, bars[1], is_input=True)
        last = journal.append(topic, bars[2], is_input=True)
        await journal.wait_committed(last)
        statistics = journal.statistics()

    assert (statistics.committed, statistics.batches, statistics.max_batch) == (5, 2, 4)


@pytest.mark.anyio
async def test_journal_full_batches_over_statement_size_read_back_in_order(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal.sqlite"
    bars = make_bars([30_000.0 + index for index in range(5000)], start_ns=START_NS)

    async with running(path) as journal:
        for bar in bars:
            journal.append(bars_topic(INSTRUMENT_ID, "1m"), bar)
        await journal.flush()
        statistics = journal.statistics()
    records = list(JournalReader(path).records())

    assert (statistics.batches, statistics.max_batch) == (2, 4096)
    assert [record.seq for record in records] == list(range(1, 5001))
    assert [record.message for record in records] == bars


@pytest.mark.anyio
async def test_journal_cancelled_scope_still_flushes_on_exit(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    bars = make_bars([30_000.0] * 10, start_ns=START_NS)

    with anyio.CancelScope() as scope:
        async with JournalWriter(path, flush_interval_s=60.0) as journal:
            for bar in bars:
                journal.append(bars_topic(INSTRUMENT_ID, "1m"), bar)
            scope.cancel()
            await anyio.sleep(60)

    assert [r.message for r in JournalReader(path).records()] == bars


@pytest.mark.anyio
async def test_journal_append_of_unknown_message_type_raises_type_error(tmp_path: Path) -> None:
    class Unjournaled(Message, frozen=True, kw_only=True, tag="test.unjournaled"):
        pass

    async with JournalWriter(tmp_path / "journal.sqlite") as journal:
        with pytest.raises(TypeError, match="Unjournaled"):
            journal.append(system_topic("test"), Unjournaled(ts_event=0, ts_init=0))
        with pytest.raises(ValueError, match="not appended yet"):
            await journal.wait_committed(1)


def test_journal_append_before_open_raises_runtime_error(tmp_path: Path) -> None:
    journal = JournalWriter(tmp_path / "journal.sqlite")

    with pytest.raises(RuntimeError, match="not open"):
        journal.append(RISK_EXECUTE, make_submit(1))


# -- reading: filters, checks, recovery ------------------------------------------------


def test_journal_reader_filters_by_inputs_kinds_and_from_seq(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"

    async def write() -> None:
        async with running(path) as journal:
            for topic, message, flag in message_mix():
                journal.append(topic, message, is_input=flag)

    anyio.run(write, backend="asyncio")
    reader = JournalReader(path)

    assert [r.seq for r in reader.records(inputs_only=True)] == [1, 2, 4, 5, 6, 7]
    assert [r.seq for r in reader.records(kinds=["bar"])] == [2, 5, 7]
    assert [r.seq for r in reader.records(kinds=["bar", "order.filled"], from_seq=3)] == [4, 5, 7]
    assert [r.seq for r in reader.records(inputs_only=True, kinds=["command.submit_order"])] == []
    assert reader.corruption is None


def test_journal_reader_missing_file_reads_as_empty(tmp_path: Path) -> None:
    reader = JournalReader(tmp_path / "absent.sqlite")

    assert (list(reader.records()), reader.sessions(), reader.count(), reader.last_seq()) == (
        [], [], 0, 0)
    assert not (tmp_path / "absent.sqlite").exists()


def read_all(path: Path) -> tuple[list[int], JournalReader]:
    reader = JournalReader(path, chunk_size=3)  # small chunks: checks cross chunk edges
    return [record.seq for record in reader.records()], reader


def test_journal_reader_truncated_last_payload_yields_all_before_it(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    write_journal(path, 10)
    with closing(sqlite3.connect(path)) as connection:
        payload = connection.execute("SELECT payload FROM journal WHERE seq = 10").fetchone()[0]
    execute(path, "UPDATE journal SET payload = ? WHERE seq = 10", (payload[: len(payload) // 2],))

    seqs, reader = read_all(path)

    assert seqs == list(range(1, 10))
    assert reader.corruption is not None
    assert (reader.corruption.seq, reader.corruption.reason, reader.corruption.skipped) == (
        10, "crc mismatch", 1)


def test_journal_reader_crc_mismatch_in_middle_stops_and_counts_rest(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    write_journal(path, 10)
    execute(path, "UPDATE journal SET crc = crc + 1 WHERE seq = 5")

    seqs, reader = read_all(path)
    inputs = [r.seq for r in reader.records(inputs_only=True)]

    assert seqs == [1, 2, 3, 4]
    assert inputs == [1, 3]
    assert reader.corruption is not None
    assert (reader.corruption.seq, reader.corruption.skipped) == (5, 6)


def test_journal_reader_seq_gap_stops_at_record_after_gap(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    write_journal(path, 10)
    execute(path, "DELETE FROM journal WHERE seq = 4")

    seqs, reader = read_all(path)

    assert seqs == [1, 2, 3]
    assert reader.corruption is not None
    assert (reader.corruption.seq, reader.corruption.skipped) == (4, 6)  # 4 is the first bad
    assert reader.corruption.reason == "seq gap: record 4 is missing, the next is 5"


def test_journal_reader_undecodable_payload_with_valid_crc_is_corruption(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    write_journal(path, 3)
    garbage = b"\x81\xa4kind\xa7unknown"
    with closing(sqlite3.connect(path)) as connection:
        session, ts_init, topic, kind, is_input = connection.execute(
            "SELECT session, ts_init, topic, kind, is_input FROM journal WHERE seq = 2").fetchone()
    crc = record_crc(2, session, ts_init, names_crc(topic.encode(), kind.encode()), is_input,
                     garbage)
    execute(path, "UPDATE journal SET payload = ?, crc = ? WHERE seq = 2", (garbage, crc))

    seqs, reader = read_all(path)

    assert seqs == [1]
    assert reader.corruption is not None
    assert reader.corruption.reason.startswith("undecodable payload")
    assert reader.corruption.skipped == 2


def test_journal_reader_other_schema_version_is_refused_as_foreign(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    write_journal(path, 1)
    execute(path, "UPDATE journal_meta SET value = '99' WHERE key = 'schema_version'")

    with pytest.raises(ForeignJournal, match="schema version 99"):
        list(JournalReader(path).records())


# -- the CLI -----------------------------------------------------------------------------


@pytest.fixture
def journal_cli() -> Iterator[Callable[..., int]]:
    parser = argparse.ArgumentParser(prog="tradebus")
    add_journal_parser(parser.add_subparsers(dest="command", required=True))
    yield lambda *argv: run_journal(parser.parse_args(["journal", *argv]))


def test_journal_cli_list_prints_one_row_per_session(
    tmp_path: Path, journal_cli: Callable[..., int], capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "journal.sqlite"
    write_journal(path, 3)
    write_journal(path, 2)

    code = journal_cli("list", "--journal", str(path))

    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert [line.split() for line in lines] == [
        ["session", "seqs", "first", "last", "records", "inputs", "resumed_after_seq",
         "ended", "faulted"],
        ["1", "1-3", "2023-01-01T00:01:00.000Z", "2023-01-01T00:03:00.000Z", "3", "2", "-",
         "killed", "-"],
        ["2", "4-5", "2023-01-01T00:01:00.000Z", "2023-01-01T00:02:00.000Z", "2", "1", "3",
         "running|killed", "-"],
    ]
    assert len({len(line) for line in lines}) == 1  # aligned


def test_journal_cli_export_writes_filtered_json_lines(
    tmp_path: Path, journal_cli: Callable[..., int], capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "journal.sqlite"
    mix = message_mix()

    async def write() -> None:
        async with running(path) as journal:
            for topic, message, flag in mix:
                journal.append(topic, message, is_input=flag)

    anyio.run(write, backend="asyncio")

    code = journal_cli("export", "--journal", str(path), "--kind", "order.filled",
                       "command.submit_order", "--kind", "bar", "--from-seq", "3",
                       "--inputs-only")

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0
    assert [line["seq"] for line in lines] == [4, 5, 7]
    assert lines[0] == {
        "seq": 4, "session": 1, "ts_init": mix[3][1].ts_init, "topic": mix[3][0],
        "kind": "order.filled", "is_input": True,
        "message": json.loads(encode_json(mix[3][1])),
    }
    assert lines[0]["message"]["last_price"] == "30091.12"


def test_journal_cli_export_corrupt_journal_exports_prefix_and_exits_2(
    tmp_path: Path, journal_cli: Callable[..., int], capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "journal.sqlite"
    write_journal(path, 4)
    execute(path, "UPDATE journal SET crc = crc + 1 WHERE seq = 3")

    code = journal_cli("export", "--journal", str(path))

    captured = capsys.readouterr()
    assert code == 2
    assert len(captured.out.splitlines()) == 2
    assert "corrupt at seq 3" in captured.err


def test_journal_cli_missing_file_exits_2_with_one_line(
    tmp_path: Path, journal_cli: Callable[..., int], capsys: pytest.CaptureFixture[str]
) -> None:
    code = journal_cli("list", "--journal", str(tmp_path / "absent.sqlite"))

    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1
    assert "absent.sqlite" in captured.err


def test_journal_cli_list_says_a_session_ended_on_a_fatal_error(
    tmp_path: Path, journal_cli: Callable[..., int], capsys: pytest.CaptureFixture[str]
) -> None:
    from engine.events.system import SessionFailed

    path = tmp_path / "journal.sqlite"
    write_journal(path, 2)

    async def fail() -> None:
        async with running(path) as journal:
            journal.append("system.session", SessionFailed(
                session=2, error_type="JournalError", error="disk full",
                ts_event=START_NS, ts_init=START_NS))

    anyio.run(fail, backend="asyncio")

    assert journal_cli("list", "--journal", str(path)) == 0
    out = capsys.readouterr().out
    assert "fatal (JournalError: disk full)" in out.splitlines()[2]
    assert out.splitlines()[1].split()[7] == "killed"
