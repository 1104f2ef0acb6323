"""The WAL checkpoints of a file ledger, in a thread of their own.

SQLite checkpoints a WAL database from within a commit once the WAL holds 1,000 pages: the
committing connection then copies the WAL into the database file and syncs both before its
`COMMIT` returns. For the ledger that connection is the writer's, so every few hundred group
commits one of them took several times as long, and every request waiting on it did too.

Here the writer connection never checkpoints (`wal_autocheckpoint = 0`); a `Checkpointer` thread
with a connection of its own does, whenever the writer has committed since its last look (at most
every `INTERVAL` seconds): a `PASSIVE` checkpoint, which waits for no reader and no writer. A
passive checkpoint copies what is committed, but the WAL starts over from its beginning only when a
write begins after a checkpoint that left nothing behind; under a steady stream of commits that is
rare. So once the WAL holds more than `WAL_PAGES` pages the thread asks the writer for help
(`wanted`): between two of its transactions the writer runs a passive checkpoint itself
(`between`), which copies only what was committed since the thread's last one and leaves nothing
behind, and its next transaction starts the WAL over (truncating its file to `journal_size_limit`).
A checkpoint that waits for the writer (`RESTART`) would not do: it polls for the writer's lock
with sleeps and, under load, loses to the writer for seconds while the WAL grows.

Nothing committed is at risk: a checkpoint copies committed pages only, and a process killed during
one leaves the WAL to be checkpointed again when the ledger next opens.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable

__all__ = ["INTERVAL", "WAL_PAGES", "Checkpointer"]

INTERVAL = 0.25
"""Seconds between the checkpointer's looks at the writer's commit count."""

WAL_PAGES = 4096
"""Beyond this many pages in the WAL (16 MiB of 4 KiB pages), a checkpoint makes it start over."""

_log = logging.getLogger("interop.ledger")


class Checkpointer:
    """A thread checkpointing the WAL of `connect()`'s database while `commits()` grows
    (`interval` and `wal_pages`: `INTERVAL` and `WAL_PAGES` unless given)."""

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        commits: Callable[[], int],
        *,
        interval: float | None = None,
        wal_pages: int | None = None,
    ) -> None:
        self._connect = connect
        self._commits = commits
        self._interval = INTERVAL if interval is None else interval
        self._wal_pages = WAL_PAGES if wal_pages is None else wal_pages
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.checkpoints = 0
        """Checkpoints the thread ran so far."""
        self.wanted = False
        """Whether the WAL has grown past `wal_pages`: the writer checkpoints it (`between`)."""
        self.restarts = 0
        """Checkpoints the writer ran between its transactions (each starting the WAL over)."""

    def start(self) -> None:
        """Start the thread (its connection is opened in it)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="ledger-checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and wait for it (the checkpoint under way, if any, completes)."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        thread.join()

    def _run(self) -> None:
        try:
            conn = self._connect()
        except sqlite3.Error:
            _log.exception("the ledger's checkpoint thread could not connect")
            return
        try:
            seen = -1  # the first look checkpoints: commits may have come before this thread ran
            while not self._stop.wait(self._interval):
                now = self._commits()
                if now != seen and self._checkpoint(conn):
                    seen = now
        finally:
            conn.close()

    def _checkpoint(self, conn: sqlite3.Connection) -> bool:
        """One passive checkpoint; the writer's help wanted when the WAL has grown too long.
        Whether it was made (a failed one is tried again at the next look, commits or not)."""
        try:
            _, pages, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error:
            _log.warning("a checkpoint of the ledger failed", exc_info=True)
            return False
        self.checkpoints += 1
        if pages > self._wal_pages:
            self.wanted = True
        return True

    def between(self, writer: sqlite3.Connection) -> None:
        """Called by the writer between transactions: when wanted, a passive checkpoint of
        what was committed since the thread's last one, so that the next write starts the WAL
        over."""
        if not self.wanted:
            return
        self.wanted = False
        try:
            writer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error:  # the thread asks again
            _log.warning("a checkpoint of the ledger failed", exc_info=True)
            return
        self.restarts += 1
