"""A bad CSV row the running feed meets (the file changed after the start-up check) is
counted, logged with file and line, and skipped, or ends that feed by config: never a
crash, and so never a crash loop at the same row on every restart."""

from __future__ import annotations

import logging
from pathlib import Path

import anyio
import pytest

from api.compose.registry import FeedContext
from api.compose.replay import ReplayFeedConfig, make_replay_feed
from engine.ports import MarketData

HEADER = "ts,open,high,low,close,volume\n"
ROWS = 70_000
BAD_LINE = 66_002  # past the reader's first 65,536-row chunk


class InstantClock:
    """Engine time that is always already there: the feed delivers without waiting."""

    def timestamp_ns(self) -> int:
        return 2**62

    async def sleep_until(self, ts_ns: int) -> None:
        return None


def write_rows(path: Path, *, bad_line: int | None = None) -> None:
    rows = [f"{1672531200000 + 60_000 * i},100,101,99,100.5,1\n" for i in range(ROWS)]
    if bad_line is not None:
        rows[bad_line - 2] = "1672531200000,100,101,99,oops,1\n"
    path.write_text(HEADER + "".join(rows))


async def replay(tmp_path: Path, bad_rows: str) -> tuple[object, list[MarketData]]:
    data = tmp_path / "bars.csv"
    write_rows(data)  # clean at start-up: the check passes
    config = ReplayFeedConfig(path="bars.csv", instrument_id="BTC/USDT.SIM",
                              bad_rows=bad_rows)  # type: ignore[arg-type]
    binding = make_replay_feed(config, FeedContext(base=tmp_path, file="paper.toml",
                                                   at="$.feeds[0]"))
    write_rows(data, bad_line=BAD_LINE)  # and then the file changes under the daemon
    delivered: list[MarketData] = []
    with anyio.fail_after(30):
        await binding.run(clock=InstantClock(), deliver=delivered.append, resume_after=None)
    assert binding.finished.is_set()
    return binding, delivered


@pytest.mark.anyio
async def test_replay_feed_bad_row_mid_run_is_counted_logged_and_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        binding, delivered = await replay(tmp_path, "skip")

    assert len(delivered) == ROWS - 1
    statistics = binding.statistics()  # type: ignore[attr-defined]
    assert (statistics.bad_rows, statistics.delivered) == (1, ROWS - 1)
    [line] = [r.getMessage() for r in caplog.records]
    assert f"bars.csv:{BAD_LINE}: close 'oops': not a number" in line and "skipped" in line


@pytest.mark.anyio
async def test_replay_feed_bad_row_with_stop_ends_the_feed_with_a_clear_message(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        binding, delivered = await replay(tmp_path, "stop")

    # Whole chunks only: the rows before it in the bad row's chunk are not delivered.
    assert len(delivered) == 65_536
    [line] = [r.getMessage() for r in caplog.records]
    assert "stopped at a bad row" in line and f"bars.csv:{BAD_LINE}:" in line


def test_first_event_time_is_read_once_from_the_head_of_the_file(tmp_path: Path) -> None:
    data = tmp_path / "bars.csv"
    write_rows(data)
    config = ReplayFeedConfig(path="bars.csv", instrument_id="BTC/USDT.SIM")
    binding = make_replay_feed(config, FeedContext(base=tmp_path, file="paper.toml",
                                                   at="$.feeds[0]"))

    first = binding.first_event_time()
    data.write_text(HEADER)  # asked again (the node asks twice a start): not read again
    again = binding.first_event_time()

    one_minute_ns = 60_000_000_000  # a bar's ts_event is its close: open + one minute
    assert first == again == 1672531200000 * 1_000_000 + one_minute_ns


def test_first_event_time_skips_more_bad_leading_rows_than_its_head_holds(
    tmp_path: Path,
) -> None:
    data = tmp_path / "bars.csv"
    write_rows(data)
    config = ReplayFeedConfig(path="bars.csv", instrument_id="BTC/USDT.SIM", bad_rows="skip")
    binding = make_replay_feed(config, FeedContext(base=tmp_path, file="paper.toml",
                                                   at="$.feeds[0]"))
    rows = data.read_text().splitlines(keepends=True)
    bad = "1672531200000,100,101,99,oops,1\n"
    data.write_text(rows[0] + bad * 300 + "".join(rows[301:]))  # the first 300 rows bad

    assert binding.first_event_time() == (1672531200000 + 60_000 * 300) * 1_000_000 \
        + 60_000_000_000
