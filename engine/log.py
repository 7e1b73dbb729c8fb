"""Logging for the daemon: JSON lines for machines, readable text on a terminal.

Every line carries two times: the engine's own (`ts`, from the graph's clock, so a
replayed or scaled session logs the time the engine believes it is: 2023 in a paper
session on 2023 data) and the wall time the line was written (`wall`, from the log
record itself, never read from a clock here: the engine reads no wall clock), plus the
component (the logger name, e.g. `engine.actors.risk`). Logs explain; events and metrics
decide: nothing a test or an operator relies on exists only in a log line.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Literal, TextIO

import orjson

from engine.clock import Clock

__all__ = (
    "EngineTimeFilter",
    "JsonFormatter",
    "TextFormatter",
    "configure_logging",
    "iso_time",
)

LogFormat = Literal["auto", "json", "text"]


class EngineTimeFilter(logging.Filter):
    """Stamp each record with the engine clock's time (`record.engine_ts`, ns)."""

    def __init__(self, clock: Clock | None) -> None:
        super().__init__()
        self.clock = clock

    def filter(self, record: logging.LogRecord) -> bool:
        record.engine_ts = self.clock.timestamp_ns() if self.clock is not None else None
        return True


def _record_ns(record: logging.LogRecord) -> int:
    """When `logging` made the record (its `created`, wall time), in nanoseconds."""
    return int(record.created * 1e9)


def iso_time(ts_ns: int | None) -> str | None:
    """`ts_ns` (ns since the epoch) as UTC ISO 8601 to the millisecond, `...Z`."""
    if ts_ns is None:
        return None
    moment = datetime.fromtimestamp(ts_ns / 1e9, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, ts_ns, wall, level, component, message (+ error).

    A record logged with `extra={"fields": {...}}` carries those keys too (a fatal
    error's `exit_code`, `error_type` and `advice`), so a machine need not parse the
    message.
    """

    def format(self, record: logging.LogRecord) -> str:
        ts_ns = getattr(record, "engine_ts", None)
        line: dict[str, object] = {
            "ts": iso_time(ts_ns),
            "ts_ns": ts_ns,
            "wall": iso_time(_record_ns(record)),
            "level": record.levelname.lower(),
            "component": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update({key: value for key, value in fields.items() if key not in line})
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return orjson.dumps(line).decode()


class TextFormatter(logging.Formatter):
    """`2026-12-02T07:08:00.123Z [engine 2023-01-01T00:01:00.000Z] INFO  engine.actors.risk:
    message` for people: wall time first (when it happened for the operator), then the
    engine's."""

    def format(self, record: logging.LogRecord) -> str:
        engine = iso_time(getattr(record, "engine_ts", None)) or "-"
        text = (
            f"{iso_time(_record_ns(record))} [engine {engine}]"
            f" {record.levelname:<5} {record.name}: {record.getMessage()}"
        )
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def configure_logging(
    clock: Clock | None,
    *,
    log_format: LogFormat = "auto",
    level: int = logging.INFO,
    stream: TextIO | None = None,
) -> logging.Handler:
    """Send the root logger to `stream` (stderr) in the chosen format; return the handler.

    "auto" is text on a terminal and JSON lines otherwise (a service manager, a pipe).
    """
    target = stream if stream is not None else sys.stderr
    chosen = log_format
    if chosen == "auto":
        chosen = "text" if target.isatty() else "json"
    handler = logging.StreamHandler(target)
    handler.addFilter(EngineTimeFilter(clock))
    handler.setFormatter(JsonFormatter() if chosen == "json" else TextFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
