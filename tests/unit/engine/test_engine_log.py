"""Daemon log lines carry the wall time as well as the engine's (issue 14): a paper
session on 2023 data logs 2023 engine times, and an operator needs to know when."""

from __future__ import annotations

import io
import json
import logging

from engine.log import configure_logging

ENGINE_NS = 1_672_531_260_000_000_000  # 2023-01-01T00:01:00Z
WALL_S = 1_796_200_000.25  # 2026-12-02T08:26:40.250Z, as `logging` would stamp it


class FixedClock:
    def timestamp_ns(self) -> int:
        return ENGINE_NS


def emit(log_format: str) -> str:
    stream = io.StringIO()
    handler = configure_logging(FixedClock(), log_format=log_format,  # type: ignore[arg-type]
                                stream=stream)
    record = logging.LogRecord("engine.runtime.node", logging.INFO, __file__, 1,
                               "status: %s", ("ok",), None)
    record.created = WALL_S
    try:
        handler.handle(record)
    finally:
        logging.getLogger().removeHandler(handler)
    return stream.getvalue()


def test_json_log_line_has_engine_time_and_wall_time() -> None:
    line = json.loads(emit("json"))

    assert line["ts"] == "2023-01-01T00:01:00.000Z" and line["ts_ns"] == ENGINE_NS
    assert line["wall"] == "2026-12-02T08:26:40.250Z"
    assert line["message"] == "status: ok"


def test_text_log_line_starts_with_wall_time_then_engine_time() -> None:
    text = emit("text")

    assert text == ("2026-12-02T08:26:40.250Z [engine 2023-01-01T00:01:00.000Z] INFO  "
                    "engine.runtime.node: status: ok\n")
