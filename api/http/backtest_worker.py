"""What a backtest job's worker process runs: the `tradebus backtest` steps, off the daemon.

Imported by name in the worker (anyio's process pool), so it holds only picklable,
module-level functions. Progress goes to a small file the daemon reads when polled
(written atomically every `PROGRESS_EVERY` items the replay reports); the result is
saved to the results SQLite file (`engine.persistence.ResultStore`), as the command
saves it, and only its run id comes back.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from engine.persistence import ResultStore

__all__ = ("JobFailed", "JobOutcome", "JobProgress", "read_progress", "run_backtest_job")


class JobProgress(msgspec.Struct, frozen=True, kw_only=True):
    """Items replayed of `total` (None: a recording, its size unknown), by process `pid`."""

    items: int
    total: int | None
    pid: int


class JobOutcome(msgspec.Struct, frozen=True, kw_only=True):
    run_id: int
    name: str
    items_processed: int
    faults: int


class JobFailed(Exception):
    """Why a job failed, as one sentence: what crosses back from the worker (the
    engine's errors take several arguments and do not survive pickling)."""


def run_backtest_job(config_path: str | None, results_path: str,
                     progress_path: str) -> JobOutcome:
    """Prepare, run and save one backtest (in the worker process).

    Raises:
        JobFailed: a bad config or data, a save that failed: the original error's text.
    """
    try:
        return _run(config_path, results_path, progress_path)
    except Exception as error:
        raise JobFailed(f"{type(error).__name__}: {error}") from None


def _run(config_path: str | None, results_path: str, progress_path: str) -> JobOutcome:
    # Imported here: the composition root imports this package (its `[api]` settings).
    from api.compose.backtest import prepare_backtest

    prepared = prepare_backtest(config_path, environ={})
    total = prepared.rows
    pid = os.getpid()
    progress = Path(progress_path)
    _write_progress(progress, JobProgress(items=0, total=total, pid=pid))
    result = prepared.run(progress=lambda n: _write_progress(
        progress, JobProgress(items=n, total=total, pid=pid)))
    _write_progress(progress, JobProgress(items=result.items_processed, total=total, pid=pid))
    run_id = ResultStore(results_path).save(result, config=prepared.file.read_text())
    return JobOutcome(run_id=run_id, name=result.name, items_processed=result.items_processed,
                      faults=len(result.faults))


def read_progress(path: Path) -> JobProgress | None:
    """The last progress a worker wrote, or None before its first (or a torn read)."""
    try:
        return msgspec.json.decode(path.read_bytes(), type=JobProgress)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return None


def _write_progress(path: Path, progress: JobProgress) -> None:
    partial = path.with_suffix(".partial")
    partial.write_bytes(msgspec.json.encode(progress))
    os.replace(partial, path)
