"""The virtual clock: realtime, scaled and manual modes, snapshots and listeners."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from mocks.timing.clock import MODES, VirtualClock

T0 = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)


class FakeTime:
    """A hand-moved time source, standing in for time.monotonic or time.time."""

    def __init__(self, at: float = 1000.0) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


def test_modes() -> None:
    assert MODES == ("realtime", "scaled", "manual")


@pytest.mark.parametrize(
    ("spec", "mode", "scale"),
    [
        ("realtime", "realtime", 1.0),
        ("manual", "manual", 1.0),
        ("scaled:3600", "scaled", 3600.0),
        ("scaled:0.5", "scaled", 0.5),
        (" scaled:60 ", "scaled", 60.0),
    ],
)
def test_parse_each_mode(spec: str, mode: str, scale: float) -> None:
    clock = VirtualClock.parse(spec, start=T0)
    assert clock.mode == mode
    assert clock.scale == scale


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "Manual",
        "scaled",
        "scaled:",
        "scaled:0",
        "scaled:-5",
        "scaled:x",
        "scaled:nan",
        "scaled:inf",
        "realtime:2",
        "fast",
    ],
)
def test_parse_bad_spec_names_the_spec_and_the_accepted_forms(spec: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(spec))) as caught:
        VirtualClock.parse(spec)
    message = str(caught.value)
    for form in ("realtime", "scaled:N", "manual"):
        assert form in message


def test_bad_mode_and_scale_name_the_field() -> None:
    with pytest.raises(ValueError, match=r"^mode: 'slow'"):
        VirtualClock("slow")
    with pytest.raises(ValueError, match=r"^scale: must be > 0"):
        VirtualClock("scaled", scale=0)
    with pytest.raises(ValueError, match=r"^scale: must be a finite number"):
        VirtualClock("scaled", scale=float("inf"))


def test_start_must_be_aware_and_is_kept_in_utc() -> None:
    with pytest.raises(ValueError, match=r"^start: must be timezone-aware"):
        VirtualClock(start=datetime(2026, 1, 1))  # naive on purpose
    eastern = timezone(timedelta(hours=-5))
    clock = VirtualClock(start=datetime(2026, 11, 25, 7, 0, tzinfo=eastern))
    assert clock.now() == T0
    assert clock.now().tzinfo is UTC


def test_default_start_is_now_truncated_to_the_second() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    clock = VirtualClock()
    after = datetime.now(UTC)
    assert before <= clock.now() <= after
    assert clock.now().microsecond == 0


def test_manual_advance_and_set() -> None:
    clock = VirtualClock("manual", start=T0)
    assert clock.now() == T0
    assert clock.timestamp() == T0.timestamp()
    assert clock.advance(90) == T0 + timedelta(seconds=90)
    assert clock.advance(0.25) == T0 + timedelta(seconds=90.25)
    clock.set(T0 + timedelta(hours=4))
    assert clock.now() == T0 + timedelta(hours=4)
    clock.set(T0 + timedelta(hours=4))  # the same instant is not backwards
    assert clock.wall_seconds_until(T0.timestamp() + 1e6) is None


def test_manual_clock_does_not_move_by_itself() -> None:
    wall = FakeTime()
    clock = VirtualClock("manual", start=T0, wall=wall)
    wall.at += 3600
    assert clock.now() == T0


def test_manual_refuses_backwards_and_negative() -> None:
    clock = VirtualClock("manual", start=T0)
    with pytest.raises(ValueError, match=r"^when: .* never moves backwards"):
        clock.set(T0 - timedelta(seconds=1))
    with pytest.raises(ValueError, match=r"^seconds: must be a finite number >= 0 \(got -1\)"):
        clock.advance(-1)
    with pytest.raises(ValueError, match=r"^seconds: "):
        clock.advance(float("nan"))
    past = r"^seconds: .* past 9998-12-31T00:00:00Z \(rule: the clock.s range\)"
    with pytest.raises(ValueError, match=past):
        clock.advance(1e15)
    with pytest.raises(ValueError, match=r"^when: must be timezone-aware"):
        clock.set(datetime(2027, 1, 1))  # naive on purpose
    assert clock.now() == T0


@pytest.mark.parametrize("mode", ["realtime", "scaled"])
def test_only_manual_moves_by_hand(mode: str) -> None:
    clock = VirtualClock(mode, scale=10, start=T0)
    with pytest.raises(ValueError, match=rf"^advance: only a manual clock can be moved.*is {mode}"):
        clock.advance(1)
    with pytest.raises(ValueError, match=rf"^set: only a manual clock can be moved.*is {mode}"):
        clock.set(T0 + timedelta(hours=1))


def test_scaled_one_wall_second_at_3600_is_one_virtual_hour() -> None:
    wall = FakeTime()
    clock = VirtualClock("scaled", scale=3600, start=T0, wall=wall)
    assert clock.now() == T0
    wall.at += 1
    assert clock.now() == T0 + timedelta(hours=1)
    wall.at += 23
    assert clock.now() == T0 + timedelta(hours=24)
    assert clock.timestamp() == (T0 + timedelta(hours=24)).timestamp()


def test_scaled_wall_seconds_until() -> None:
    wall = FakeTime()
    clock = VirtualClock("scaled", scale=3600, start=T0, wall=wall)
    four_hours = (T0 + timedelta(hours=4)).timestamp()
    assert clock.wall_seconds_until(four_hours) == pytest.approx(4.0)
    wall.at += 1.5
    assert clock.wall_seconds_until(four_hours) == pytest.approx(2.5)
    wall.at += 10
    assert clock.wall_seconds_until(four_hours) == 0.0  # past: never negative


def test_realtime_forces_scale_one_and_follows_the_wall() -> None:
    wall = FakeTime()
    clock = VirtualClock("realtime", scale=3600, start=T0, wall=wall)
    assert clock.scale == 1.0
    wall.at += 90
    assert clock.now() == T0 + timedelta(seconds=90)
    assert clock.wall_seconds_until(T0.timestamp() + 100) == pytest.approx(10.0)


def test_realtime_default_start_is_the_wall_clock() -> None:
    clock = VirtualClock("realtime")
    assert abs((clock.now() - datetime.now(UTC)).total_seconds()) < 1.0


def test_state_is_what_admin_clock_returns() -> None:
    wall = FakeTime()
    clock = VirtualClock("scaled", scale=3600, start=T0, wall=wall)
    assert clock.state() == {"mode": "scaled", "scale": 3600.0, "now": "2026-11-25T12:00:00Z"}
    wall.at += 0.5
    assert clock.state()["now"] == "2026-11-25T12:30:00Z"
    json.dumps(clock.state())
    manual = VirtualClock("manual", start=T0)
    manual.advance(1.5)
    assert manual.state() == {"mode": "manual", "scale": 1.0, "now": "2026-11-25T12:00:01.500000Z"}


def test_snapshot_restore_manual_resumes_at_the_same_now() -> None:
    clock = VirtualClock("manual", start=T0)
    clock.advance(3600.123456)
    text = clock.snapshot()
    json.loads(text)
    restored = VirtualClock.restore(text, wall=FakeTime(5.0), posix=FakeTime(9e9))
    assert restored.mode == "manual"
    assert restored.now() == clock.now()


def test_snapshot_restore_scaled_counts_the_time_spent_down() -> None:
    wall, posix = FakeTime(), FakeTime(1_800_000_000.0)
    clock = VirtualClock("scaled", scale=3600, start=T0, wall=wall, posix=posix)
    wall.at += 2  # two virtual hours in this process
    text = clock.snapshot()
    posix.at += 3  # down three wall seconds: three more virtual hours
    restored = VirtualClock.restore(text, wall=FakeTime(50.0), posix=posix)
    assert restored.mode == "scaled"
    assert restored.scale == 3600
    assert restored.now() == T0 + timedelta(hours=5)
    assert restored.wall_seconds_until((T0 + timedelta(hours=4)).timestamp()) == 0.0


def test_snapshot_restore_never_goes_back_when_the_wall_clock_did() -> None:
    posix = FakeTime(1_800_000_000.0)
    clock = VirtualClock("scaled", scale=60, start=T0, wall=FakeTime(), posix=posix)
    text = clock.snapshot()
    posix.at -= 100
    assert VirtualClock.restore(text, wall=FakeTime(), posix=posix).now() == T0


def test_snapshot_restore_realtime() -> None:
    posix = FakeTime(1_800_000_000.0)
    clock = VirtualClock("realtime", start=T0, wall=FakeTime(), posix=posix)
    text = clock.snapshot()
    posix.at += 42
    restored = VirtualClock.restore(text, wall=FakeTime(), posix=posix)
    assert (restored.mode, restored.scale) == ("realtime", 1.0)
    assert restored.now() == T0 + timedelta(seconds=42)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("not json", "snapshot"),
        ('{"version": 99}', "snapshot"),
        ('{"version": 1, "mode": "warp", "scale": 1}', "snapshot.mode"),
        ('{"version": 1, "mode": "scaled", "scale": -1}', "snapshot.scale"),
        ('{"version": 1, "mode": "manual", "scale": 1, "now": "soon"}', "snapshot.now"),
        ('{"version": 1, "mode": "manual", "scale": 1, "now": "2026-11-25T12:00"}', "snapshot.now"),
        ('{"version": 1, "mode": "scaled", "scale": 2, "anchor": [1]}', "snapshot.anchor"),
        ('{"version": 1, "mode": "scaled", "scale": 2, "anchor": {}}', "snapshot.anchor"),
    ],
)
def test_restore_bad_snapshot_names_the_field(text: str, field: str) -> None:
    with pytest.raises(ValueError, match=rf"^{re.escape(field)}:"):
        VirtualClock.restore(text)


def test_listeners_are_called_after_every_advance_and_set() -> None:
    clock = VirtualClock("manual", start=T0)
    seen: list[datetime] = []

    def listener() -> None:
        seen.append(clock.now())

    clock.add_listener(listener)
    clock.advance(10)
    clock.advance(0)
    clock.set(T0 + timedelta(minutes=15))
    assert seen == [
        T0 + timedelta(seconds=10),
        T0 + timedelta(seconds=10),
        T0 + timedelta(minutes=15),
    ]
    with pytest.raises(ValueError, match="backwards"):
        clock.set(T0)
    assert len(seen) == 3  # a refused move notifies no one
    clock.remove_listener(listener)
    clock.remove_listener(listener)  # no error the second time
    clock.advance(1)
    assert len(seen) == 3


def test_the_remembered_gmt_of_an_instant_is_its_second_s_whatever_came_before() -> None:
    from mocks._utils import gmt_cached
    from protocol.ebts import gmt

    # Instants interleaved across seconds (a planner's past stamps between intake's), on both
    # sides of the epoch and of a cache's worth of seconds, the same object twice in a row.
    instants = [T0 + timedelta(seconds=s / 7) for s in range(0, 7 * 200, 3)]
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    instants += [epoch - timedelta(microseconds=1), epoch + timedelta(microseconds=1), T0, T0]
    instants += [i - timedelta(days=400) for i in instants[::5]]
    for when in instants + instants[::-1]:
        assert gmt_cached(when) == gmt(when.replace(microsecond=0)), when
