"""The virtual clock every mock delay is scheduled on: `realtime`, `scaled:N` or `manual`.

* `realtime` — virtual time is wall time (a certification run may demand it);
* `scaled:N` — virtual time runs N times faster than wall time (24 h at 3600x is 24 s);
* `manual` — virtual time moves only when advanced (deterministic tests, the admin API).

Elapsed wall time in the process is read from a monotonic source; only the anchor persisted by
`snapshot()` uses POSIX time, so that a restarted mock continues the same virtual time and wall
time spent down counts.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

__all__ = ["LATEST", "MODES", "VirtualClock"]

MODES: tuple[str, ...] = ("realtime", "scaled", "manual")
"""The clock modes, as named in `--clock realtime|scaled:N|manual`."""

LATEST = datetime(9998, 12, 31, tzinfo=UTC)
"""The latest instant a clock is moved to: a year short of the last one a `datetime` holds, so the
timers a step plans after it (days at most) and their EBTS dates still have room."""

_ACCEPTED = "accepted: 'realtime', 'scaled:N' (N a number > 0, e.g. 'scaled:3600'), 'manual'"
_SNAPSHOT_VERSION = 1


def _iso(when: datetime) -> str:
    """ISO 8601 UTC with a Z suffix (fractional seconds only when present)."""
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _aware_utc(when: object, field: str) -> datetime:
    """`when` as an aware UTC datetime; ValueError naming `field` and the rule otherwise."""
    if not isinstance(when, datetime):
        raise ValueError(f"{field}: must be a datetime (got {type(when).__name__})")
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{field}: must be timezone-aware (rule: aware UTC datetime, got {when})")
    return when.astimezone(UTC)


def _positive_scale(scale: object) -> float:
    """`scale` as a float; ValueError unless it is a finite number > 0."""
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not math.isfinite(scale):
        raise ValueError(f"scale: must be a finite number > 0 (got {scale!r})")
    if scale <= 0:
        raise ValueError(f"scale: must be > 0 (got {scale!r})")
    return float(scale)


class VirtualClock:
    """One clock in one of three modes; `now()` is aware UTC virtual time."""

    def __init__(
        self,
        mode: str = "manual",
        *,
        scale: float = 1.0,
        start: datetime | None = None,
        wall: Callable[[], float] = time.monotonic,
        posix: Callable[[], float] = time.time,
    ) -> None:
        """A clock at `start` (default: now; truncated to the second except in realtime).

        `wall` measures elapsed seconds in this process (monotonic); `posix` is the POSIX time
        used only for the anchor that `snapshot()` persists. Realtime forces `scale` to 1.
        """
        if mode not in MODES:
            raise ValueError(f"mode: {mode!r} is not a clock mode (one of {', '.join(MODES)})")
        self._mode = mode
        self._scale = 1.0 if mode == "realtime" else _positive_scale(scale)
        if start is None:
            start = datetime.now(UTC)
            if mode != "realtime":
                start = start.replace(microsecond=0)
        self._wall = wall
        self._posix = posix
        self._listeners: list[Callable[[], None]] = []
        # manual: the virtual now itself; realtime/scaled: virtual = anchor + elapsed wall * scale.
        self._manual_now = _aware_utc(start, "start")
        self._anchor_virtual = self._manual_now.timestamp()
        self._anchor_wall = wall()

    @classmethod
    def parse(cls, spec: str, *, start: datetime | None = None) -> VirtualClock:
        """A clock from a `--clock` spec: `realtime`, `scaled:N` or `manual`."""
        text = spec.strip() if isinstance(spec, str) else ""
        if text in ("realtime", "manual"):
            return cls(text, start=start)
        mode, sep, factor = text.partition(":")
        if mode == "scaled" and sep:
            try:
                scale = float(factor)
            except ValueError:
                scale = math.nan
            if math.isfinite(scale) and scale > 0:
                return cls("scaled", scale=scale, start=start)
        raise ValueError(f"clock spec {spec!r} is not valid; {_ACCEPTED}")

    @property
    def mode(self) -> str:
        """`realtime`, `scaled` or `manual`."""
        return self._mode

    @property
    def scale(self) -> float:
        """Virtual seconds per wall second (1 in realtime; unused in manual)."""
        return self._scale

    def timestamp(self) -> float:
        """The virtual now as POSIX seconds."""
        if self._mode == "manual":
            return self._manual_now.timestamp()
        return self._anchor_virtual + (self._wall() - self._anchor_wall) * self._scale

    def now(self) -> datetime:
        """The virtual now, aware UTC."""
        if self._mode == "manual":
            return self._manual_now
        return datetime.fromtimestamp(self.timestamp(), UTC)

    def advance(self, seconds: float) -> datetime:
        """Move a manual clock forward by `seconds` (>= 0); returns the new now."""
        self._require_manual("advance")
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or not math.isfinite(seconds)
            or seconds < 0
        ):
            raise ValueError(f"seconds: must be a finite number >= 0 (got {seconds!r})")
        moved = self.after(seconds)
        self._manual_now = moved
        self._notify()
        return moved

    def after(self, seconds: float) -> datetime:
        """The instant `seconds` after now, or a ValueError naming `seconds` when it is past
        `LATEST` (rule: the clock's range)."""
        now = self.now()
        try:
            moved = now + timedelta(seconds=seconds)
        except OverflowError:
            moved = None
        if moved is None or moved > LATEST:
            raise ValueError(
                f"seconds: {seconds!r} moves the clock from {_iso(now)} past {_iso(LATEST)} "
                "(rule: the clock's range)"
            )
        return moved

    def set(self, when: datetime) -> None:
        """Move a manual clock to `when`, which must not be before its now nor after `LATEST`."""
        self._require_manual("set")
        target = _aware_utc(when, "when")
        if target > LATEST:
            raise ValueError(
                f"when: {_iso(target)} is past {_iso(LATEST)} (rule: the clock's range)"
            )
        if target < self._manual_now:
            raise ValueError(
                f"when: {_iso(target)} is before the clock's now {_iso(self._manual_now)} "
                "(rule: the virtual clock never moves backwards)"
            )
        self._manual_now = target
        self._notify()

    def wall_seconds_until(self, virtual_ts: float) -> float | None:
        """Wall seconds until the virtual instant `virtual_ts` (0 if past); None in manual mode."""
        if self._mode == "manual":
            return None
        return max(0.0, (virtual_ts - self.timestamp()) / self._scale)

    def state(self) -> dict[str, object]:
        """What `GET /admin/clock` returns: `{"mode", "scale", "now"}`."""
        return {"mode": self._mode, "scale": self._scale, "now": _iso(self.now())}

    def snapshot(self) -> str:
        """JSON to persist in the ledger; `restore()` continues the same virtual time from it."""
        document: dict[str, object] = {
            "version": _SNAPSHOT_VERSION,
            "mode": self._mode,
            "scale": self._scale,
        }
        if self._mode == "manual":
            document["now"] = self._manual_now.isoformat(timespec="microseconds")
        else:
            document["anchor"] = {"virtual": self.timestamp(), "posix": self._posix()}
        return json.dumps(document, sort_keys=True)

    @classmethod
    def restore(
        cls,
        snapshot: str,
        *,
        wall: Callable[[], float] = time.monotonic,
        posix: Callable[[], float] = time.time,
    ) -> VirtualClock:
        """The clock a `snapshot()` describes; in realtime/scaled, wall time since it counts."""
        try:
            document = json.loads(snapshot)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"snapshot: not JSON ({exc})") from None
        if not isinstance(document, dict) or document.get("version") != _SNAPSHOT_VERSION:
            raise ValueError(f"snapshot: must be a clock snapshot of version {_SNAPSHOT_VERSION}")
        mode = document.get("mode")
        if mode not in MODES:
            raise ValueError(f"snapshot.mode: {mode!r} is not one of {', '.join(MODES)}")
        try:
            scale = _positive_scale(document.get("scale"))
        except ValueError as exc:
            raise ValueError(f"snapshot.{exc}") from None
        if mode == "manual":
            try:
                start = _aware_utc(datetime.fromisoformat(str(document["now"])), "now")
            except (KeyError, ValueError):
                raise ValueError("snapshot.now: must be an aware ISO 8601 timestamp") from None
            return cls("manual", scale=scale, start=start, wall=wall, posix=posix)
        anchor = document.get("anchor")
        if not isinstance(anchor, dict) or not all(
            isinstance(anchor.get(k), int | float)
            and not isinstance(anchor.get(k), bool)
            and math.isfinite(anchor[k])
            for k in ("virtual", "posix")
        ):
            raise ValueError("snapshot.anchor: must hold finite numbers 'virtual' and 'posix'")
        # Wall time that passed while the process was down counts (never negative).
        down = max(0.0, posix() - float(anchor["posix"]))
        virtual = float(anchor["virtual"]) + down * (1.0 if mode == "realtime" else scale)
        start = datetime.fromtimestamp(virtual, UTC)
        clock = cls(str(mode), scale=scale, start=start, wall=wall, posix=posix)
        clock._anchor_virtual = virtual  # keep sub-microsecond precision of the anchor
        return clock

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call `callback()` after every `advance` / `set` (so a scheduler can wake)."""
        self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[], None]) -> None:
        """Stop calling `callback` (no error if it was not registered)."""
        if callback in self._listeners:
            self._listeners.remove(callback)

    def _require_manual(self, operation: str) -> None:
        if self._mode != "manual":
            raise ValueError(
                f"{operation}: only a manual clock can be moved (this clock is {self._mode})"
            )

    def _notify(self) -> None:
        for callback in tuple(self._listeners):
            callback()

    def __repr__(self) -> str:
        scale = f", scale={self._scale:g}" if self._mode == "scaled" else ""
        return f"VirtualClock({self._mode!r}{scale}, now={_iso(self.now())})"
