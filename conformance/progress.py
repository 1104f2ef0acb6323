"""A live progress line for people watching a long run: checks done, failing and in error, wall
and virtual time (rich, on standard error)."""

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
        self.errors = 0
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

    def done(self, outcome: str) -> None:
        """One more check finished with this outcome (passed, failed, error...)."""
        self.failing += int(outcome == "failed")
        self.errors += int(outcome == "error")
        try:
            virtual = self._virtual_now()
        except Exception:
            virtual = "?"
        wall = time.monotonic() - self._began
        status = (
            f"failing {self.failing} · errors {self.errors} · wall {wall:.1f} s · virtual {virtual}"
        )
        self._progress.update(self._task, advance=1, status=status)

    def close(self) -> None:
        """Leave the last line on screen."""
        self._progress.stop()
