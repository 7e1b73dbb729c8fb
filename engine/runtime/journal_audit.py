"""After a restart from a snapshot, check again, off the loop, the records it trusted.

A restart checks only the journal records written since an earlier start checked the
rest (`engine.persistence.journal_verified`): checking a million records again costs
seconds on every start. Damage to those older records after they were checked (bit rot,
a file restored from a bad copy) cannot change the state the restart built, which never
reads them (the snapshot and the records after it are checked as they are read); but
the next start without a usable snapshot would refuse the journal, and a backup may
still hold good copies now. So once the session runs the node checks them once more, in
a child process (`engine.persistence.journal_scan`: seconds of CPU that must not compete
with the event loop for the GIL), and says what it found: one log line, the
`journal_audit` of `/ready` and `/api/v1/status`, and the `tradebus_journal_audit_*`
metrics. Trading goes on either way: the operator decides what to do with the journal.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Final, Literal

import anyio
import msgspec

from engine.persistence.journal_scan import ScanOutcome

__all__ = ("JournalAudit", "JournalAuditStatus")

logger = logging.getLogger(__name__)

_ENGINE_ROOT: Final = str(Path(__file__).resolve().parents[2])  # where `engine` imports from
_ADVICE: Final = ("run `tradebus journal verify` for a report, and keep a copy of the data "
                  "dir; restore the journal from a backup that holds good copies")


class JournalAuditStatus(msgspec.Struct, frozen=True, kw_only=True):
    """Where the audit of records `from_seq`..`through_seq` is, and what it found."""

    state: Literal["running", "clean", "damaged", "failed"]
    from_seq: int
    through_seq: int
    checked_through: int = 0
    """The last seq found good (all from `from_seq` up to it); 0 while running."""
    problem: str | None = None
    """What is damaged ("damaged"), or why the audit could not run ("failed")."""


class JournalAudit:
    """Check records 1..`through_seq` of `journal` in a child process: `run` it once."""

    def __init__(self, journal: Path, through_seq: int) -> None:
        self.journal = journal
        self.status = JournalAuditStatus(state="running", from_seq=1, through_seq=through_seq)
        self.done = anyio.Event()
        """Set once `status` has the answer (made on the node's loop, as this is)."""

    async def run(self) -> None:
        """Run the pass to its end (the child is killed if this is cancelled); never raises
        for what the pass finds or for a child that fails: `status` and the log say it."""
        await self._run()
        self.done.set()

    async def _run(self) -> None:
        command = [sys.executable, "-m", "engine.persistence.journal_scan",
                   str(self.journal), "1", str(self.status.through_seq)]
        path = os.environ.get("PYTHONPATH")
        env = {**os.environ,
               "PYTHONPATH": _ENGINE_ROOT + (os.pathsep + path if path else "")}
        try:
            # Its own session: a Ctrl-C at the daemon's terminal is the daemon's to handle.
            finished = await anyio.run_process(command, check=False, env=env,
                                           start_new_session=True)
            outcome = msgspec.json.decode(finished.stdout.splitlines()[-1], type=ScanOutcome)
        except (OSError, IndexError, msgspec.DecodeError) as error:
            why = f"the checking process could not run: {error}"
            self._failed(why)
            return
        if finished.returncode != 0:
            self._failed(f"the checking process exited with {finished.returncode}: "
                         f"{finished.stderr.decode(errors='replace')[-500:]}")
            return
        self._found(outcome)

    def _failed(self, why: str) -> None:
        self.status = msgspec.structs.replace(self.status, state="failed", problem=why)
        logger.warning("journal %s: records 1..%d were not checked again (%s); `tradebus "
                       "journal verify` checks them", self.journal, self.status.through_seq,
                       why)

    def _found(self, outcome: ScanOutcome) -> None:
        through = self.status.through_seq
        if outcome.clean:
            self.status = msgspec.structs.replace(self.status, state="clean",
                                                  checked_through=outcome.checked_through)
            logger.info("journal %s: records 1..%d (checked at an earlier start) checked "
                        "again: intact", self.journal, through)
            return
        corruption = outcome.corruption
        problem = outcome.error if corruption is None else (
            f"damaged at seq {corruption.seq} ({corruption.reason})")
        self.status = msgspec.structs.replace(self.status, state="damaged", problem=problem,
                                              checked_through=outcome.checked_through)
        logger.error("journal %s: %s, in records 1..%d an earlier start had checked: the "
                     "state this session restored from its snapshot does not depend on them "
                     "and trading goes on, but a start without a usable snapshot will refuse "
                     "the journal; %s", self.journal, problem, through, _ADVICE)
