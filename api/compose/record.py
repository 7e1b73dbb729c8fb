"""`tradebus record`: a daemon file's feeds written to a recording, with no graph at all.

The feeds are the daemon's own bindings (built by kind through the registry) on a
live clock with the daemon's origin and speed, so a recording of a replay feed holds
what a paper session would have been handed, stamped the same way.
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path

import anyio

from adapters.data.recording import AsyncRecordingStore, RecordingWriter
from api.compose.daemon import build_feeds
from api.compose.registry import REGISTRY, AdapterRegistry
from api.compose.settings import DaemonFileConfig
from engine.clock import LiveClock
from engine.runtime import first_event_time

__all__ = ("FeedRecording",)

logger = logging.getLogger(__name__)


class FeedRecording:
    """Record every feed of a config to `out` until they finish or a stop is requested.

    Raises:
        ConfigError: (constructor) a feed that cannot be built.
    """

    def __init__(
        self,
        config: DaemonFileConfig,
        *,
        file: Path,
        out: Path,
        registry: AdapterRegistry = REGISTRY,
    ) -> None:
        self.file = file
        self.out = out
        self.feeds = build_feeds(config, file, registry=registry)
        runtime = config.runtime
        first = first_event_time(self.feeds)
        origin = first if runtime.clock_origin == "data" else None
        self.clock = LiveClock(origin_ns=origin, speed=runtime.speed)
        self.written = 0
        self._stop = anyio.Event()

    def request_stop(self) -> None:
        """Stop recording (what was handed over so far is still written)."""
        self._stop.set()

    async def run(self) -> int:
        """Record until every feed is done or a stop is requested; return the exit code."""
        self.out.parent.mkdir(parents=True, exist_ok=True)
        async with AsyncRecordingStore(self.out) as store:
            session = await store.new_session(self.clock.timestamp_ns(), note=str(self.file))
            writer = RecordingWriter(store)
            async with anyio.create_task_group() as group:
                await group.start(writer.run)
                async with anyio.create_task_group() as feeds_group:
                    for feed in self.feeds:
                        feeds_group.start_soon(partial(feed.run, clock=self.clock,
                                                       deliver=writer.append,
                                                       resume_after=None))
                    feeds_group.start_soon(self._stop_when_feeds_finish)
                    await self._stop.wait()
                    feeds_group.cancel_scope.cancel()
                await writer.flush()
                self.written = writer.statistics().written
                logger.info("recorded %d items to %s (session %d)", self.written, self.out,
                            session)
                group.cancel_scope.cancel()
        return 0

    async def _stop_when_feeds_finish(self) -> None:
        for feed in self.feeds:
            await feed.finished.wait()
        self.request_stop()
