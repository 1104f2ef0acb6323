"""A live progress line for people watching a long run: checks done and failing, wall and
virtual time (rich, on standard error)."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

__all__ = ["RunProgress"]


class RunProgress:
    """One bar over the checks; `done()` after each, `close()` at the end."""

    def __init__(self, total: int, virtual_now: Callable[[], str]) -> None:
        self._virtual_now = virtual_now
        self._began = time.monotonic()
        self.failing = 0
        self._progress = Progress(
            TextColumn("[bold]conformance[/bold]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            console=Console(stderr=True),
            transient=False,
        )
        self._task = self._progress.add_task("checks", total=total, status="")
        self._progress.start()

    def done(self, failed: bool) -> None:
        """One more check finished."""
        self.failing += int(failed)
        try:
            virtual = self._virtual_now()
        except Exception:
            virtual = "?"
        status = (
            f"failing {self.failing} · wall {time.monotonic() - self._began:.1f} s · "
            f"virtual {virtual}"
        )
        self._progress.update(self._task, advance=1, status=status)

    def close(self) -> None:
        """Leave the last line on screen."""
        self._progress.stop()
