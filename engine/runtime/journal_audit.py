"""While the session runs, check journal records off the loop: what a restart trusted,
and what was journaled since, so the next restart has little left to check.

A restart checks only the journal records written since the verified mark
(`engine.persistence.journal_verified`): checking a million records again costs seconds
on every start. Two things keep that both safe and short:

- **The trusted records are checked once more.** Damage to them after they were checked
  (bit rot, a file restored from a bad copy) cannot change the state a restart from a
  snapshot built (it never reads them; the snapshot and the records after it are checked
  as they are read), but the next start without a usable snapshot would refuse the
  journal, and a backup may still hold good copies now. So once the session runs they
  are checked again and any damage is reported.
- **The mark follows the snapshots.** Every `period_s` the records up to the newest
  snapshot are checked and the mark moved there, so a restart after a long session
  checks about one interval's records, not the whole session's.

Each pass runs in a child process (`engine.persistence.journal_scan`, niced): seconds of
CPU over a long journal that must not compete with the event loop for the GIL. What was
found is one log line, the `journal_audit` of `/ready` and `/api/v1/status`, and the
`tradebus_journal_audit_*` metrics. Trading goes on either way (the operator decides what
to do with the journal); after damage or a failed pass the mark stays where it is.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Final, Literal

import anyio
import msgspec

from engine.persistence.journal_scan import ScanOutcome
from engine.persistence.journal_verified import mark_verified

__all__ = ("JournalAudit", "JournalAuditStatus")

logger = logging.getLogger(__name__)

_ENGINE_ROOT: Final = str(Path(__file__).resolve().parents[2])  # where `engine` imports from
_ADVICE: Final = ("run `tradebus journal verify` for a report, and keep a copy of the data "
                  "dir; restore the journal from a backup that holds good copies")


class JournalAuditStatus(msgspec.Struct, frozen=True, kw_only=True):
    """What the audit has checked and found."""

    state: Literal["running", "clean", "damaged", "failed"]
    """"running" until the trusted records were checked again (at once when none were)."""
    trusted_through: int
    """This start trusted records 1..this (0: none) and checks them again."""
    verified_through: int
    """The verified mark: the next restart checks the records after it."""
    passes: int = 0
    problem: str | None = None
    """What is damaged ("damaged"), or why a pass could not run ("failed")."""


class JournalAudit:
    """Audit `journal` while the session runs: `run` it in the node's task group.

    Args:
        journal: the journal file.
        journal_id: its id, for the verified mark.
        trusted_through: records 1..this were trusted by this start (0: none).
        verified_through: every record up to this was checked (the mark, after recovery).
        latest: the newest snapshot's seq (records up to it are committed).
        period_s: how often the mark is moved on.
    """

    def __init__(self, journal: Path, journal_id: str, *, trusted_through: int,
                 verified_through: int, latest: Callable[[], int], period_s: float) -> None:
        self.journal = journal
        self._journal_id = journal_id
        self._latest = latest
        self._period = period_s
        self.status = JournalAuditStatus(
            state="running" if trusted_through else "clean",
            trusted_through=trusted_through, verified_through=verified_through)
        self.rechecked = anyio.Event()
        """Set once the trusted records were checked again (at once when none were)."""

    async def run(self) -> None:
        """Check until cancelled (a child process is killed then), or until a pass finds
        damage or fails; never raises for either: `status` and the log say it."""
        trusted = self.status.trusted_through
        if trusted:
            if not await self._pass(1, trusted):
                self.rechecked.set()
                return
            logger.info("journal %s: records 1..%d (checked at an earlier start) checked "
                        "again: intact", self.journal, trusted)
        self.status = msgspec.structs.replace(self.status, state="clean")
        self.rechecked.set()
        while True:
            await anyio.sleep(self._period)
            through, verified = self._latest(), self.status.verified_through
            if through <= verified:
                continue
            if not await self._pass(verified + 1, through):
                return
            mark_verified(self.journal, self._journal_id, through)
            self.status = msgspec.structs.replace(self.status, verified_through=through)

    async def _pass(self, from_seq: int, through_seq: int) -> bool:
        """Check records `from_seq`..`through_seq` in a child; False (reported) if not clean."""
        command = [sys.executable, "-m", "engine.persistence.journal_scan",
                   str(self.journal), str(from_seq), str(through_seq)]
        path = os.environ.get("PYTHONPATH")
        env = {**os.environ, "PYTHONPATH": _ENGINE_ROOT + (os.pathsep + path if path else "")}
        self.status = msgspec.structs.replace(self.status, passes=self.status.passes + 1)
        try:
            # Its own session: a Ctrl-C at the daemon's terminal is the daemon's to handle.
            finished = await anyio.run_process(command, check=False, env=env,
                                               start_new_session=True)
            if finished.returncode != 0:
                raise OSError(f"exit status {finished.returncode}: "
                              f"{finished.stderr.decode(errors='replace')[-500:]}")
            outcome = msgspec.json.decode(finished.stdout.splitlines()[-1], type=ScanOutcome)
        except (OSError, IndexError, msgspec.DecodeError) as error:
            self.status = msgspec.structs.replace(
                self.status, state="failed", problem=f"the checking process failed: {error}")
            logger.warning("journal %s: records %d..%d could not be checked (%s); `tradebus "
                           "journal verify` checks them", self.journal, from_seq, through_seq,
                           self.status.problem)
            return False
        if outcome.clean:
            return True
        corruption = outcome.corruption
        problem = outcome.error if corruption is None else (
            f"damaged at seq {corruption.seq} ({corruption.reason})")
        self.status = msgspec.structs.replace(self.status, state="damaged", problem=problem)
        trusted = from_seq <= self.status.trusted_through
        logger.error(
            "journal %s: %s, found checking records %d..%d%s: trading goes on (the running "
            "state does not depend on the records on disk), but a restart that has to "
            "replay that record will refuse the journal; %s", self.journal, problem,
            from_seq, through_seq, " (an earlier start had checked them)" if trusted else "",
            _ADVICE)
        return False
