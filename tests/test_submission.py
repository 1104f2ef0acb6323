from __future__ import annotations

from datetime import date
from typing import Any

import pytest

import schemas
from protocol.ebts import ori_state, parse_ebts_date
from protocol.submission import expected_tot, ident_search, sre_count
from tests._mutate import mutate

CAR = schemas.examples("car")[0]
CPI = schemas.examples("cpi")[0]
BOOKING_FIRST, BOOKING_REPEAT = schemas.examples("booking")
ACTIVE = {"NC0920000"}


@pytest.mark.parametrize(
    ("booking", "nff", "tot"),
    [
        (BOOKING_FIRST, True, "CAR"),
        (BOOKING_REPEAT, True, "CPI"),
        (BOOKING_FIRST, False, "CAR"),
        (BOOKING_REPEAT, False, "CAR"),
    ],
)
def test_nff_state_sends_cpi_only_for_a_subject_arrested_there_before(
    booking: dict[str, Any], nff: bool, tot: str
) -> None:
    assert expected_tot(booking, nff=nff) == tot


def _car_arrested(doa: str) -> dict[str, Any]:
    car: dict[str, Any] = mutate(CAR, "type2.doa", doa)
    return car


@pytest.mark.parametrize(
    ("doa", "received", "search"),
    [
        ("20261125", date(2026, 11, 25), True),
        ("20261118", date(2026, 11, 25), True),
        ("20261117", date(2026, 11, 25), False),
        ("20261126", date(2026, 11, 25), False),
    ],
    ids=["same-day", "seven-days", "eight-days", "future"],
)
def test_car_is_searched_in_ident_only_within_seven_days_of_arrest(
    doa: str, received: date, search: bool
) -> None:
    decision = ident_search(_car_arrested(doa), received=received, activated_oris=ACTIVE)
    assert decision.yes is search
    assert decision.reason


def test_eight_day_old_arrest_says_why() -> None:
    decision = ident_search(
        _car_arrested("20261117"), received=date(2026, 11, 25), activated_oris=ACTIVE
    )
    assert "8 days old" in decision.reason


def test_ori_not_activated_gets_no_ident_search() -> None:
    for message in (CAR, CPI):
        decision = ident_search(message, received=date(2026, 11, 25), activated_oris={"NC0410000"})
        assert not decision.yes
        assert "NC0920000 is not activated" in decision.reason


def test_cpi_from_activated_ori_is_searched_whatever_the_arrest_date() -> None:
    old = mutate(CPI, "type2.doa", "20250101")
    assert ident_search(old, received=date(2026, 11, 25), activated_oris=ACTIVE).yes


def test_responses_start_no_search() -> None:
    sre = schemas.examples("sre")[0]
    assert not ident_search(sre, received=date(2026, 11, 25), activated_oris=ACTIVE).yes


@pytest.mark.parametrize(
    ("tot", "nff", "count"),
    [("CAR", False, 1), ("CAR", True, 2), ("CPI", True, 1), ("CPI", False, 0)],
)
def test_sre_count_includes_the_nff_additional_sre(tot: str, nff: bool, count: int) -> None:
    assert sre_count(tot, nff=nff) == count


def test_sre_count_rejects_a_non_submission() -> None:
    with pytest.raises(ValueError, match="'IDR' is not a submission"):
        sre_count("IDR", nff=True)


def test_ebts_dates_and_ori_state() -> None:
    assert parse_ebts_date("20240229") == date(2024, 2, 29)
    with pytest.raises(ValueError, match="'20230229' is not a CCYYMMDD date"):
        parse_ebts_date("20230229")
    assert ori_state("NC0920000") == "NC"
