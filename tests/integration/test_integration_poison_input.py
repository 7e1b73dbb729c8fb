"""A poison input in a real journal file: the live runner halts on it, recovery stops at it.

A strategy that fails fast (no fault isolation, as a core actor) raises on one bar. Live,
the runner must journal that bar as an input, report it (seq, kind, topic, error) and
take nothing more; replaying the journal file through a fresh graph must stop at the same
record with the same report, the state before it rebuilt, instead of raising.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from adapters.sim import SimVenue, SimVenueConfig
from engine.actors.risk import RiskConfig
from engine.clock import LiveClock
from engine.events.market import Bar
from engine.events.system import SessionStarted
from engine.graph import TradingGraph, topic_for
from engine.persistence import JournalReader, JournalWriter
from engine.runtime import Inbox, LiveRunner, PoisonInput, replay_inputs
from engine.strategy import Strategy
from engine.testing import (
    BAR_TYPE,
    INSTRUMENT_ID,
    make_bars,
    make_instrument,
    make_portfolio_config,
)
from engine.topics import bars_topic, system_topic

pytestmark = pytest.mark.integration

START_NS = 1_672_531_200_000_000_000
POISON_CLOSE = 666.0
LANE = "feed"


class Choke(Strategy):
    """Count bars; raise on the poison close, past fault isolation."""

    isolate_faults = False

    def on_start(self) -> None:
        self.bars = 0
        self.subscribe_bars(BAR_TYPE)

    def on_bar(self, bar: Bar) -> None:
        if bar.close == POISON_CLOSE:
            raise ValueError(f"cannot digest close {bar.close}")
        self.bars += 1


def build_graph() -> tuple[TradingGraph, LiveClock, Choke]:
    clock = LiveClock(origin_ns=START_NS)
    clock.hold(START_NS)
    graph = TradingGraph(clock=clock, instruments=[make_instrument()],
                         portfolio=make_portfolio_config(), risk=RiskConfig())
    graph.add_venue(SimVenue(SimVenueConfig(), graph.instruments, cache=graph.cache))
    graph.add_bar_source(BAR_TYPE)
    strategy = Choke("choke")
    graph.add_strategy(strategy)
    return graph, clock, strategy


async def live_session(path: Path) -> tuple[LiveRunner, list[PoisonInput], Choke]:
    """Three good bars, the poison, one more good bar, through the runner into `path`."""
    graph, clock, strategy = build_graph()
    replay_inputs(graph, clock, [])
    runner = LiveRunner(graph, Inbox())
    runner.inbox.add_lane(LANE, capacity=100)
    told: list[PoisonInput] = []
    runner.on_poison = told.append
    async with JournalWriter(path) as journal, anyio.create_task_group() as group:
        await group.start(journal.run)
        graph.bus.add_observer(runner.journal_observer(journal))
        runner.publish_input(system_topic("session"),
                             SessionStarted(session=1, ts_event=START_NS, ts_init=START_NS))
        for bar in make_bars([100.0, 101.0, 102.0, POISON_CLOSE, 103.0], start_ns=START_NS):
            if runner.poison is not None:
                break  # the node's run loop takes no entry after the poison
            clock.hold(bar.ts_event)
            runner.inbox.put_data(LANE, bar, topic_for(bar), INSTRUMENT_ID)
            entry = runner.inbox.get_nowait()
            assert entry is not None
            runner.handle(entry)  # never raises: the poison is reported instead
        await journal.flush()
        group.cancel_scope.cancel()
    return runner, told, strategy


async def test_live_poison_is_journaled_reported_and_replayed_to_the_same_report(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal.sqlite"
    runner, told, live_strategy = await live_session(path)

    poison = runner.poison
    assert poison is not None and told == [poison]
    assert (poison.kind, poison.topic) == ("bar", bars_topic(INSTRUMENT_ID, "1m"))
    assert (poison.error_type, poison.error) == ("ValueError", "cannot digest close 666.0")
    assert live_strategy.bars == 3
    assert runner.statistics().data_handled == 4  # the poison was handled, then nothing

    reader = JournalReader(path)
    records = list(reader.records())
    assert reader.corruption is None
    poisoned = next(record for record in records if record.seq == poison.seq)
    assert poisoned.is_input and poisoned.kind == "bar"
    assert poisoned.message.close == POISON_CLOSE
    assert [r.message.close for r in records if r.kind == "bar"] == [100.0, 101.0, 102.0,
                                                                      POISON_CLOSE]

    graph, clock, strategy = build_graph()
    report = replay_inputs(graph, clock, records)  # raises nothing
    assert report.poison == poison
    assert report.last_seq == poison.seq  # stopped there
    assert report.inputs_replayed == 1 + 3  # the session marker and the good bars
    assert strategy.bars == 3
    assert "seq " + str(poison.seq) in poison.describe()


def test_recovery_stops_at_an_undecodable_input_and_names_it(tmp_path: Path) -> None:
    """A record whose payload cannot be decoded is a poison too, named by its seq."""
    path = tmp_path / "journal.sqlite"
    anyio.run(live_session, path)  # a journal file with a poison bar in it
    graph, clock, _ = build_graph()
    records = list(JournalReader(path).records())
    report = replay_inputs(graph, clock, records[:2])  # no poison in this part
    assert report.poison is None and report.last_seq == 2
