"""Backtests as background jobs: each runs in a worker process, never on the daemon's loop.

`BacktestJobs` keeps this daemon's jobs in memory (newest last) and runs them in the
API server's task group: at most `workers` at once (a capacity limiter), each in an
anyio worker process (`api.http.backtest_worker`). A job is `queued`, `running`,
`succeeded` (with the run id its result was saved under) or `failed` (with the error,
a worker that died included); nothing a job does becomes an HTTP 500. Past runs,
from this daemon or the `tradebus backtest` command, are in the results file.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from pathlib import Path

import anyio
import anyio.to_process
import msgspec
from anyio.abc import TaskGroup

from api.http.backtest_worker import (
    JobFailed,
    JobOutcome,
    JobProgress,
    read_progress,
    run_backtest_job,
)
from api.http.errors import ApiError

__all__ = ("BacktestJob", "BacktestJobs", "JobStatus")

logger = logging.getLogger(__name__)

MAX_PENDING = 16
"""Jobs queued or running at once; one more is refused (429) rather than queued forever."""


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class BacktestJob(msgspec.Struct, kw_only=True):
    """One submitted backtest, as `GET /api/v1/backtests/{job_id}` shows it."""

    job_id: str
    config: str | None
    status: JobStatus = JobStatus.QUEUED
    progress: JobProgress | None = None
    outcome: JobOutcome | None = None
    error: str | None = None


class BacktestJobs:
    """This daemon's backtest jobs.

    Args:
        folder: where progress files and `results.sqlite` (the run store) live.
        workers: how many jobs run at once.
    """

    def __init__(self, folder: Path, *, workers: int) -> None:
        self.folder = folder
        self.results_path = folder / "results.sqlite"
        self._limiter = anyio.CapacityLimiter(workers)
        self._jobs: dict[str, BacktestJob] = {}
        self._next = 0
        self._group: TaskGroup | None = None

    def attach(self, group: TaskGroup) -> None:
        """The task group jobs run in (the API server's: cancelled at shutdown)."""
        self._group = group

    def submit(self, config: str | None) -> BacktestJob:
        """Queue a backtest of the config file `config` (None: the bundled demo)."""
        if self._group is None:
            raise ApiError(503, "backtest jobs run only while the API server runs")
        pending = sum(job.status in (JobStatus.QUEUED, JobStatus.RUNNING)
                      for job in self._jobs.values())
        if pending >= MAX_PENDING:
            raise ApiError(429, f"{pending} backtest jobs are queued or running: the limit "
                           f"is {MAX_PENDING}; try again when one ends")
        self.folder.mkdir(parents=True, exist_ok=True)
        self._next += 1
        job = BacktestJob(job_id=f"job-{self._next}", config=config)
        self._jobs[job.job_id] = job
        self._group.start_soon(self._run, job)
        return job

    def jobs(self) -> list[BacktestJob]:
        return [self.refreshed(job) for job in self._jobs.values()]

    def job(self, job_id: str) -> BacktestJob:
        job = self._jobs.get(job_id)
        if job is None:
            raise ApiError(404, f"backtest job {job_id[:60]!r}: unknown")
        return self.refreshed(job)

    def refreshed(self, job: BacktestJob) -> BacktestJob:
        """`job` with its worker's latest progress read in (while it runs)."""
        if job.status is JobStatus.RUNNING:
            job.progress = read_progress(self._progress_path(job)) or job.progress
        return job

    def _progress_path(self, job: BacktestJob) -> Path:
        return self.folder / f"{job.job_id}.progress"

    async def _run(self, job: BacktestJob) -> None:
        async with self._limiter:
            job.status = JobStatus.RUNNING
            progress = self._progress_path(job)
            try:
                job.outcome = await anyio.to_process.run_sync(
                    run_backtest_job, job.config, str(self.results_path), str(progress),
                    cancellable=True)
            except JobFailed as error:
                job.status, job.error = JobStatus.FAILED, str(error)
            except anyio.BrokenWorkerProcess:
                job.status, job.error = JobStatus.FAILED, "the worker process died"
            except Exception as error:  # a bad config, bad data, a strategy's crash
                job.status, job.error = JobStatus.FAILED, f"{type(error).__name__}: {error}"
            else:
                job.status = JobStatus.SUCCEEDED
            job.progress = read_progress(progress) or job.progress
            progress.unlink(missing_ok=True)
            if job.error is not None:
                logger.warning("backtest %s failed: %s", job.job_id, job.error)
            else:
                logger.info("backtest %s done: run %s", job.job_id,
                            job.outcome.run_id if job.outcome else "?")
