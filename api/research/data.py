"""The study's shared data: every `[[data]]` source staged once into one SQLite bar store.

Trials of a windowed study (walk-forward, k-fold, shocks) read their window straight
from this file (`kind = "sqlite"` with `start_ns`/`end_ns`): one copy on disk for all
workers, read in chunks by each, so a trial's memory does not grow with the history.
The file's name carries a digest of the sources' paths, sizes and modification times,
so changed data is staged again and unchanged data never is.
"""

from __future__ import annotations

import hashlib
from array import array
from pathlib import Path

from adapters.data import SqliteBarStore
from adapters.data.config import RecordingDataConfig
from api.compose import PreparedBacktest
from api.research.space import Window
from engine.errors import ConfigError
from engine.events import BarType
from engine.research import Segment

__all__ = ("StagedData", "segment_window", "stage")


class StagedData:
    """The staged store and the `ts_event`s of its first source (the windows' clock)."""

    def __init__(self, path: Path, timestamps: array[int]) -> None:
        self.path = path
        self.timestamps = timestamps

    @property
    def bars(self) -> int:
        return len(self.timestamps)


def stage(prepared: PreparedBacktest, folder: Path) -> StagedData:
    """Copy the bars of `prepared`'s sources into `folder`/bars-<digest>.sqlite (once).

    Raises:
        ConfigError: a recording source (a mixed stream, not windowable bars).
    """
    digest = hashlib.sha256()
    for index, (spec, source) in enumerate(zip(prepared.config.data, prepared.sources,
                                               strict=True)):
        if isinstance(spec, RecordingDataConfig):
            raise ConfigError(f"$.data[{index}].kind",
                              "windowed research needs bars (csv or sqlite)")
        path = Path(getattr(source.items, "path", spec.path))
        stat = path.stat()
        digest.update(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{spec}".encode())
    folder.mkdir(parents=True, exist_ok=True)
    target = folder.resolve() / f"bars-{digest.hexdigest()[:16]}.sqlite"
    if not target.exists():
        partial = target.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        with SqliteBarStore(partial) as store:
            for source in prepared.sources:
                store.write_bars(source.items)  # type: ignore[arg-type]
        partial.rename(target)
    first = prepared.config.data[0]
    bar_type = BarType(instrument_id=first.instrument_id, timeframe=first.timeframe)
    with SqliteBarStore(target, read_only=True) as store:
        timestamps = store.read_columns(bar_type).ts_event
    return StagedData(target, timestamps)


def segment_window(data: StagedData, segment: Segment) -> Window:
    """The `(start_ns, end_ns)` of bars `segment[0] <= i < segment[1]` of the first source."""
    start, end = segment
    timestamps = data.timestamps
    end_ns = timestamps[end] if end < len(timestamps) else timestamps[-1] + 1
    return timestamps[start], end_ns
