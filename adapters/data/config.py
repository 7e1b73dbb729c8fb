"""Config for recorded-data sources, as they appear in a `[[data]]` table.

Relative paths are resolved against the config file's folder; `sample:NAME` names a
file bundled with tradebus (`sample:btcusdt_1m.csv`), so the demo runs from anywhere.
"""

from __future__ import annotations

from pathlib import Path

from engine.config import Config
from engine.events.market import BarType

__all__ = (
    "CsvBarsConfig",
    "DataSourceConfig",
    "FundingCsvConfig",
    "RecordingDataConfig",
    "SqliteBarsConfig",
    "resolve_data_path",
)

SAMPLE_PREFIX = "sample:"


class CsvBarsConfig(Config, kw_only=True, frozen=True, tag_field="kind", tag="csv"):
    """Bars from a CSV file in the `ts,open,high,low,close,volume` format (ts = open, ms)."""

    path: str
    instrument_id: str
    timeframe: str = "1m"

    @property
    def bar_type(self) -> BarType:
        return BarType(instrument_id=self.instrument_id, timeframe=self.timeframe)


class SqliteBarsConfig(Config, kw_only=True, frozen=True, tag_field="kind", tag="sqlite"):
    """Bars from a tradebus SQLite data store."""

    path: str
    instrument_id: str
    timeframe: str = "1m"
    start_ns: int | None = None
    end_ns: int | None = None

    @property
    def bar_type(self) -> BarType:
        return BarType(instrument_id=self.instrument_id, timeframe=self.timeframe)


class RecordingDataConfig(Config, kw_only=True, frozen=True, tag_field="kind",
                          tag="recording"):
    """A recorded live or paper session (`tradebus record`, or `record = true`): the
    items of one instrument, in arrival order, ordered by their recorded `ts_init`.
    `timeframe` names the bars the recording carries; `session` picks one session."""

    path: str
    instrument_id: str
    timeframe: str = "1m"
    session: int | None = None

    @property
    def bar_type(self) -> BarType:
        return BarType(instrument_id=self.instrument_id, timeframe=self.timeframe)


DataSourceConfig = CsvBarsConfig | SqliteBarsConfig | RecordingDataConfig


class FundingCsvConfig(Config, kw_only=True, frozen=True):
    """A perpetual's funding rates from a CSV file (`ts,rate[,mark_price]`, ts in epoch
    ms; `adapters.data.funding_csv`), replayed beside the bars (`[[funding]]`)."""

    path: str
    instrument_id: str


def resolve_data_path(path: str, *, base: Path | None) -> Path:
    """Resolve a configured path: `sample:` files, then relative to the config's folder."""
    if path.startswith(SAMPLE_PREFIX):
        return Path(__file__).parent / "sample" / path[len(SAMPLE_PREFIX):]
    resolved = Path(path).expanduser()
    if not resolved.is_absolute() and base is not None:
        resolved = base / resolved
    return resolved
