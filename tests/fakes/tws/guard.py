"""Fail a test on any message ib_async could not decode.

ib_async's decoder catches every exception a malformed message raises and logs it on
the `ib_async.Decoder` logger, then carries on: a field layout one off would pass a test
that only waits for what never comes. `DecodeErrorGuard` collects those records.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ("DecodeErrorGuard", "decode_error_guard")

DECODER_LOGGER = "ib_async.Decoder"


class DecodeErrorGuard(logging.Handler):
    """A handler keeping every error record of the decoder's logger."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def take(self) -> list[logging.LogRecord]:
        """Return and forget the records so far (a test that sends bad input on purpose)."""
        records, self.records = self.records, []
        return records

    def check(self) -> None:
        """Raise AssertionError naming the first decode errors, if there were any."""
        if self.records:
            shown = "; ".join(self.format_record(r) for r in self.records[:3])
            raise AssertionError(f"ib_async decode errors ({len(self.records)}): {shown}")

    @staticmethod
    def format_record(record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += f" ({record.exc_info[1]!r})"
        return text


@contextmanager
def decode_error_guard() -> Iterator[DecodeErrorGuard]:
    """Attach a DecodeErrorGuard to the decoder's logger; fail at exit if it caught any."""
    guard = DecodeErrorGuard()
    logger = logging.getLogger(DECODER_LOGGER)
    logger.addHandler(guard)
    try:
        yield guard
    finally:
        logger.removeHandler(guard)
    guard.check()
