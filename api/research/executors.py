"""Where trials run: a local process pool (the default) or a Dask cluster.

Both take a batch of `TrialTask`s and yield `TrialOutcome`s as they finish, in any
order. The study never depends on that order (it samples a whole batch before any of
it runs, see `api.research.study`), so the same seed gives the same trials on either.

Dask rather than Ray (docs/research.md says more): `distributed.LocalCluster` starts
in about a second inside a test, workers are plain processes that import tradebus
like any other module, and `Client(address)` reaches an existing cluster unchanged.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from types import TracebackType
from typing import Protocol

from api.research.config import ExecutorConfig
from api.research.trial import TrialOutcome, TrialTask, run_trial

__all__ = ("DaskExecutor", "ProcessExecutor", "TrialExecutor", "make_executor")


class TrialExecutor(Protocol):
    """Runs trials somewhere; a context manager that owns its workers."""

    workers: int

    def run(self, tasks: Sequence[TrialTask]) -> Iterator[TrialOutcome]:
        """Yield one outcome per task as each finishes (blocks while trials run)."""
        ...

    def __enter__(self) -> TrialExecutor: ...

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None: ...


class ProcessExecutor:
    """A pool of `workers` local processes (all cores when 0), kept for the whole study.

    Workers start through a forkserver: a fork of a parent that already runs threads
    (the progress bar, a Dask client) can deadlock, and spawn would re-import
    everything for each worker.

    Workers ignore Ctrl-C: it reaches the whole process group, and a worker that died
    of it while idle broke the pool, so the study raised BrokenProcessPool (exit 1, a
    traceback per worker) instead of stopping as interrupted. Stopping is the parent's
    decision; leaving the `with` block on an error ends the workers at once.
    """

    def __init__(self, workers: int = 0) -> None:
        self.workers = workers or os.cpu_count() or 1
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["api.research.trial"])
        self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context,
                                         initializer=_ignore_interrupts)

    def start(self) -> None:
        """Start every worker now (they start lazily, on the first trials, otherwise)."""
        for future in [self._pool.submit(_ready) for _ in range(self.workers)]:
            future.result()

    def run(self, tasks: Sequence[TrialTask]) -> Iterator[TrialOutcome]:
        futures = [self._pool.submit(run_trial, task) for task in tasks]
        for future in as_completed(futures):
            yield future.result()

    def __enter__(self) -> ProcessExecutor:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if error is None:
            self._pool.shutdown(wait=True)
            return
        # An interrupted study must not wait for the batch in flight: it resumes later,
        # and the workers would otherwise finish their trials before the process exits.
        workers = _worker_processes(self._pool)
        self._pool.shutdown(wait=False, cancel_futures=True)
        for process in workers:
            process.terminate()


class DaskExecutor:
    """Trials on a Dask cluster: `address` of a running scheduler, or a LocalCluster here.

    Workers need tradebus importable and the config's data at the same path (a shared
    file system): the task carries the config, not the data.
    """

    def __init__(self, address: str | None = None, workers: int = 0) -> None:
        from distributed import Client, LocalCluster

        self._cluster: LocalCluster | None = None
        if address is None:
            self._cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1,
                                         threads_per_worker=1, processes=True,
                                         dashboard_address=None)
            self._client = Client(self._cluster)
        else:
            self._client = Client(address)
        self.workers = max(len(self._client.scheduler_info()["workers"]), 1)

    def run(self, tasks: Sequence[TrialTask]) -> Iterator[TrialOutcome]:
        from distributed import as_completed as dask_completed

        # pure=False: two tasks with equal inputs are still two trials.
        futures = self._client.map(run_trial, list(tasks), pure=False)
        for future in dask_completed(futures):
            yield future.result()

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def _ready() -> int:
    return os.getpid()


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _worker_processes(pool: ProcessPoolExecutor) -> list[multiprocessing.process.BaseProcess]:
    # The pool names its workers only in a private map (Python 3.14 adds
    # terminate_workers()), which shutdown() drops; read it defensively: a pool without
    # it still ends its workers, once their trials finish.
    processes = getattr(pool, "_processes", None) or {}
    return list(processes.values())


def make_executor(config: ExecutorConfig) -> ProcessExecutor | DaskExecutor:
    """Build the executor `[optimize.executor]` asks for."""
    if config.kind == "dask":
        return DaskExecutor(config.address, config.workers)
    return ProcessExecutor(config.workers)
