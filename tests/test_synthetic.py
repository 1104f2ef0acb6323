"""The seeded synthetic generator: determinism, schema validity, distributions, identities."""

from __future__ import annotations

import datetime
import re
from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import schemas
from protocol.detainer import custody_deadline
from protocol.ebts import (
    CJIS_ORI,
    LESC_ORI,
    dro_ori,
    ebts_date,
    gmt,
    ori_county,
    parse_ebts_date,
    parse_gmt,
    sib_ori_of,
)
from protocol.levels import highest_level
from synthetic import (
    CHARGES,
    ERROR_SAMPLES,
    FOREIGN_POB,
    STATE_CODES,
    Synthesizer,
    normalize_name,
)
from synthetic.strategies import fragment

UTC = datetime.UTC
T0 = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
DOA = datetime.date(2026, 11, 24)
NAM = re.compile(r"^[A-Z][A-Z' \-]*,[A-Z][A-Z' \-]*$")


def scenario(seed: int) -> dict[str, Any]:
    """One of every document, made in a fixed order from one seed."""
    s = Synthesizer(seed)
    person = s.person()
    ori = s.lea_ori("NC")
    first = s.booking(ori, doa=DOA, person=person)
    car = s.car(first, gmt=T0)
    again = s.booking(ori, doa=DOA + datetime.timedelta(days=1), person=person, fbi="1234567AB")
    again["prior_arrest_in_state"] = True
    cpi = s.cpi(again, gmt=T0 + datetime.timedelta(days=1))
    found = s.encounters(person, 3)
    determination = s.determination(person, dro=dro_ori("NC"))
    idr_match = s.idr(car, gmt=T0, encounters=found, iar=determination)
    return {
        "person": person,
        "leas": s.leas("NC", 4),
        "charges": s.charges(3, doa=DOA),
        "booking": first,
        "booking2": again,
        "car": car,
        "cpi": cpi,
        "sre": s.sre(car, srf="I", gmt=T0),
        "sre_nff": s.sre(cpi, srf="I", gmt=T0, ident=idr_match),
        "idr": s.idr(car, gmt=T0),
        "idr_match": idr_match,
        "iaq": s.iaq(car, gmt=T0, encounters=found),
        "iaq_cpi": s.iaq(cpi, gmt=T0, encounters=found),
        "iar": s.iar(car, gmt=T0, determination=determination),
        "errt": s.errt(car, gmt=T0, problems=ERROR_SAMPLES[:2], permanent=True),
        "detainer": s.detainer(car, gmt=T0, release_notified_at=T0 + datetime.timedelta(days=2)),
        "detainer_cpi": s.detainer(cpi, gmt=T0),
        "history": s.dhs_history(person, match_rate=1.0),
        "sut": s.sut_profile("NC"),
        "timing": s.timing_profile(),
    }


SCHEMA_OF = {
    "booking": "booking",
    "booking2": "booking",
    "car": "car",
    "cpi": "cpi",
    "sre": "sre",
    "sre_nff": "sre",
    "idr": "idr",
    "idr_match": "idr",
    "iaq": "iaq",
    "iaq_cpi": "iaq",
    "iar": "iar",
    "errt": "errt",
    "detainer": "detainer",
    "detainer_cpi": "detainer",
    "sut": "sut-profile",
    "timing": "timing-profile",
}


# --- determinism ------------------------------------------------------------------------------


def test_same_seed_same_outputs() -> None:
    assert scenario(7) == scenario(7)


def test_different_seeds_differ() -> None:
    a, b = scenario(1), scenario(2)
    assert a["person"] != b["person"]
    assert a["booking"]["prints"]["biometric_key"] != b["booking"]["prints"]["biometric_key"]
    assert a["leas"] != b["leas"]


def test_default_seed_is_zero() -> None:
    assert Synthesizer().person() == Synthesizer(0).person()


# --- validity ---------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(25))
def test_every_generated_message_validates(seed: int) -> None:
    docs = scenario(seed)
    for key, name in SCHEMA_OF.items():
        schemas.validate(name, docs[key])
    schemas.validate("submission", docs["car"])
    schemas.validate("submission", docs["cpi"])
    for key in ("sre", "idr", "idr_match", "iar", "errt"):
        schemas.validate("delivery", docs[key])
    fragment("booking.json#/properties/person", docs["person"])
    fragment("common.json#/$defs/charges", docs["charges"])
    for ori in docs["leas"]:
        fragment("common.json#/$defs/ori", ori)
    for encounter in docs["history"]:
        fragment("idr.json#/$defs/encounter", encounter)


def test_parts_validate_over_many_draws() -> None:
    s = Synthesizer(11)
    for _ in range(300):
        person = s.person()
        fragment("booking.json#/properties/person", person)
        fragment("common.json#/$defs/charges", s.charges(5))
        fragment("common.json#/$defs/prints", s.prints())
        fragment("iar.json#/$defs/determination", s.determination(person, dro="NCICE0100"))


def test_every_timing_shape_validates() -> None:
    s = Synthesizer(3)
    for shape in Synthesizer.TIMING_SHAPES:
        for _ in range(20):
            schemas.validate("timing-profile", s.timing_profile(shape))
    sop = s.timing_profile("sop")
    assert sop["steps"]["idr"] == {"fixed": 900.0}
    assert sop["steps"]["idr_alone_after"] == {"fixed": 86400.0}
    with pytest.raises(ValueError, match="shape"):
        s.timing_profile("weekly")


# --- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (("Núñez", "José", "María"), "NUNEZ,JOSE MARIA"),
        (("Müller-Lüdenscheidt", "Zoë"), "MULLER-LUDENSCHEIDT,ZOE"),
        (("Straße", "Łukasz", "Ørjan"), "STRASSE,LUKASZ ORJAN"),
        (("O\u2019Brien", "Siobhán"), "O'BRIEN,SIOBHAN"),
        (("St. John", "Mary-Ann", "  B. "), "ST JOHN,MARY-ANN B"),
        (("de la Cruz", "Renée"), "DE LA CRUZ,RENEE"),
        (("Smith, Jr", "Bob3"), "SMITH JR,BOB"),
        (("'Tis", "-Ann-"), "TIS,ANN"),
        (("\u674e", ""), "UNKNOWN,UNKNOWN"),
        (("Œuvray", "Æthelred"), "OEUVRAY,AETHELRED"),
    ],
)
def test_name_normalisation(parts: tuple[str, ...], expected: str) -> None:
    assert normalize_name(*parts) == expected


def test_long_name_drops_middle_to_its_initial() -> None:
    nam = normalize_name("Featherstonehaugh-Cholmondeley", "Maximilian", "Bartholomew")
    assert nam == "FEATHERSTONEHAUGH-CHOLMONDELEY,MAXIMILIAN B"
    assert len(nam) <= 50


def test_long_name_is_cut_at_fifty_keeping_the_comma_form() -> None:
    nam = normalize_name("Wolfeschlegelsteinhausenbergerdorffvoralternwarengewissenhaft", "Hubert")
    assert len(nam) == 50
    assert NAM.match(nam)
    assert nam.startswith("WOLFESCHLEGEL")
    assert nam.endswith(",HUBERT")
    very = normalize_name("A" * 80, "B" * 80, "C" * 80)
    assert len(very) == 50
    assert very.count(",") == 1
    assert very == "A" * 34 + "," + "B" * 15


def test_cut_does_not_end_on_a_space_or_hyphen() -> None:
    nam = normalize_name("X" * 42 + " -YYYY", "Given")
    assert nam == "X" * 42 + ",GIVEN"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=70), st.text(max_size=70), st.text(max_size=30))
def test_any_text_normalises_to_a_valid_nam(surname: str, given_: str, middle: str) -> None:
    nam = normalize_name(surname, given_, middle)
    assert len(nam) <= 50
    fragment("common.json#/$defs/nam", nam)


def test_faker_names_fit_the_nam_pattern() -> None:
    s = Synthesizer(5)
    for _ in range(500):
        person = s.person()
        assert NAM.match(person["nam"])
        assert all(NAM.match(alias) for alias in person.get("aka", []))


# --- people -----------------------------------------------------------------------------------


def test_people_are_18_to_70_in_2026_and_mostly_us_born() -> None:
    s = Synthesizer(9)
    people = [s.person() for _ in range(3000)]
    for person in people:
        dob = parse_ebts_date(person["dob"])
        for day in (datetime.date(2026, 1, 1), datetime.date(2026, 12, 31)):
            age = day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))
            assert 18 <= age <= 70
    us = sum(p["pob"] in STATE_CODES for p in people) / len(people)
    assert 0.77 <= us <= 0.83
    foreign = {p["pob"] for p in people if p["pob"] not in STATE_CODES}
    assert foreign <= set(FOREIGN_POB)
    assert "XX" in foreign


def test_foreign_pob_codes_are_not_state_codes() -> None:
    assert not set(FOREIGN_POB) & set(STATE_CODES)


def test_person_overrides() -> None:
    person = Synthesizer(1).person(nam="DOE,JANE", sex="F")
    assert person["nam"] == "DOE,JANE"
    assert person["sex"] == "F"


# --- identifiers and ORIs ---------------------------------------------------------------------


def test_identifier_formats() -> None:
    s = Synthesizer(4)
    assert re.fullmatch(r"SYN-[0-9A-F]{16}", s.biometric_key())
    assert re.fullmatch(r"SRL-[0-9A-F]{12}", s.srl())
    assert re.fullmatch(r"synthetic://photo/[0-9a-f]{16}", s.photo_ref())
    assert re.fullmatch(r"SYN-A[0-9]{9}", s.file_number())
    fragment("common.json#/$defs/fbi", s.fbi_number())
    fragment("common.json#/$defs/sid", s.sid("NC"))


def test_identifiers_are_unique() -> None:
    s = Synthesizer(4)
    keys = [s.biometric_key() for _ in range(2000)]
    assert len(set(keys)) == len(keys)
    day = datetime.date(2026, 11, 25)
    tcns = [s.tcn("NC0920000", day) for _ in range(50)]
    assert len(set(tcns)) == 50
    assert tcns[0] == "NC0920000-20261125-000001"
    for tcn in tcns:
        fragment("common.json#/$defs/tcn", tcn)


def test_agency_shapes_real_leas_have() -> None:
    s = Synthesizer(5)
    sheriff = "NC0920000"
    police = s.sub_agency(sheriff, 1)
    assert police == "NC0920100"
    assert ori_county(police) == ori_county(sheriff)
    for ori in (police, s.other_state_ori("NC")):
        fragment("common.json#/$defs/ori", ori)
    assert not s.other_state_ori("NC").startswith("NC")
    assert s.booking_number(1, 2026) == s.booking_number(1, 2026) == "2026-000001"
    booking = s.booking(police, doa=DOA, booking_id=s.booking_number(1, 2026))
    assert not schemas.problems("booking", booking)
    garbled = s.fixable_misspellings(sheriff)
    assert set(garbled) == {"lower-case", "padded", "inner-blank"}
    for text in garbled.values():
        assert "".join(text.split()).upper() == sheriff
        assert schemas.problems("booking", {**booking, "ori": text})
    with pytest.raises(ValueError, match="agency number"):
        s.sub_agency(sheriff, 100)


def test_oris() -> None:
    s = Synthesizer(2)
    ori = s.lea_ori("NC")
    assert re.fullmatch(r"NC[0-9]{3}[0-9]{2}00", ori)
    assert ori[2:5] != "000"
    leas = s.leas("TX", 40)
    assert len(set(leas)) == 40
    assert all(o.startswith("TX") for o in leas)
    assert s.sib_ori("NC") == "NC0000000" == sib_ori_of(ori)
    assert dro_ori("NC") == "NCICE0100"


# --- charges and prints -----------------------------------------------------------------------


def test_charges_cover_every_level() -> None:
    s = Synthesizer(6)
    drawn = [c for _ in range(50) for c in s.charges(10)]
    levels = Counter(highest_level([(c["ncic"], c.get("sentence_days"))]) for c in drawn)
    assert {1, 2, 3} <= set(levels)
    assert {c["ncic"] for c in drawn} <= {code for code, _ in CHARGES}
    assert any("sentence_days" in c for c in drawn if c["ncic"] == "3599")


def test_charge_overrides() -> None:
    s = Synthesizer(6)
    fixed = s.charges(3, ncic="2399", doo=datetime.date(2026, 11, 20))
    assert [(c["ncic"], c["aol"], c["doo"]) for c in fixed] == [("2399", "LARCENY", "20261120")] * 3
    near = s.charges(20, doa=DOA)
    assert all(0 <= (DOA - parse_ebts_date(c["doo"])).days <= 3 for c in near)
    with pytest.raises(ValueError, match="1 to 40"):
        s.charges(0)


def test_prints_mix_and_booking_default() -> None:
    s = Synthesizer(8)
    kinds = Counter(s.prints()["kind"] for _ in range(4000))
    assert abs(kinds["flat-two-print"] / 4000 - 0.70) <= 0.05
    flat = s.prints("flat-two-print")
    assert flat["impressions"] == 2
    booked = [s.booking("NC0920000", doa=DOA)["prints"] for _ in range(50)]
    assert {p["kind"] for p in booked} == {"rolled-ten-print"}
    assert {p["impressions"] for p in booked} == {10, 14}


# --- bookings and submissions -----------------------------------------------------------------


def test_repeat_booking_reuses_the_biometric_key() -> None:
    s = Synthesizer(12)
    person = s.person()
    other = s.person()
    first = s.booking("NC0920000", doa=DOA, person=person)
    second = s.booking(
        "NC0410000",
        doa=DOA + datetime.timedelta(days=30),
        person=dict(person),
        prior_arrest_in_state=True,
    )
    stranger = s.booking("NC0920000", doa=DOA, person=other)
    assert first["prints"]["biometric_key"] == second["prints"]["biometric_key"]
    assert first["prints"]["biometric_key"] == s.biometric_key_of(person)
    assert stranger["prints"]["biometric_key"] != first["prints"]["biometric_key"]
    assert first["booking_id"] != second["booking_id"]


def test_prior_arrest_bookings_carry_a_stable_fbi_number() -> None:
    s = Synthesizer(13)
    person = s.person()
    first = s.booking("NC0920000", doa=DOA)
    assert "fbi" not in first
    second = s.booking("NC0920000", doa=DOA, person=person, prior_arrest_in_state=True)
    third = s.booking("NC0920000", doa=DOA, person=person, prior_arrest_in_state=True)
    assert second["fbi"] == third["fbi"]
    assert second["sid"] == third["sid"]
    assert second["sid"].startswith("NC")


def test_booking_does_not_alias_its_inputs() -> None:
    s = Synthesizer(13)
    person = s.person()
    charges = s.charges(2)
    booking = s.booking("NC0920000", doa=DOA, person=person, charges=charges)
    booking["person"]["nam"] = "CHANGED,NAME"
    booking["charges"][0]["aol"] = "CHANGED"
    assert person["nam"] != "CHANGED,NAME"
    assert charges[0]["aol"] != "CHANGED"


def test_car_and_cpi_fields() -> None:
    docs = scenario(21)
    car, cpi, booking = docs["car"], docs["cpi"], docs["booking"]
    assert car["type1"]["tot"] == "CAR"
    assert car["type1"]["dai"] == CJIS_ORI
    assert car["type1"]["dat"] == "20261125"
    assert car["type1"]["ori"] == booking["ori"]
    assert car["type2"]["cri"] == [booking["ori"]]
    assert car["type2"]["doa"] == booking["doa"]
    assert car["type2"]["asl"] == booking["charges"]
    assert car["prints"] == booking["prints"]
    assert cpi["type1"]["tot"] == "CPI"
    assert cpi["type2"]["fbi"] == "1234567AB"
    assert cpi["type2"]["asl"] == docs["booking2"]["charges"]
    with pytest.raises(ValueError, match="FBI number"):
        Synthesizer(1).cpi(booking, gmt=T0)


def test_helpers() -> None:
    assert ebts_date(datetime.date(2026, 1, 2)) == "20260102"
    assert gmt(datetime.datetime(2026, 11, 25, 12, 0, 5)) == "2026-11-25T12:00:05Z"
    eastern = datetime.timezone(datetime.timedelta(hours=-5))
    late = datetime.datetime(2026, 11, 25, 22, 30, tzinfo=eastern)
    assert gmt(late) == "2026-11-26T03:30:00Z"
    assert ebts_date(late) == "20261126"
    assert parse_gmt("2026-11-25T12:00:00Z") == T0
    assert parse_ebts_date("20261125") == datetime.date(2026, 11, 25)


# --- IDENT and LESC ---------------------------------------------------------------------------


def test_dhs_history_match_rate() -> None:
    s = Synthesizer(2026)
    histories = [s.dhs_history(s.person()) for _ in range(5000)]
    matched = [h for h in histories if h]
    assert abs(len(matched) / 5000 - 0.12) <= 0.02
    assert {len(h) for h in matched} == {1, 2, 3, 4, 5}


def test_encounter_prints_and_photo_mix() -> None:
    s = Synthesizer(31)
    person = s.person()
    found = [e for _ in range(800) for e in s.encounters(person, 5)]
    kinds = Counter(e["prints"] for e in found)
    assert abs(kinds["flat-two-print"] / len(found) - 0.70) <= 0.05
    assert abs(kinds["rolled-ten-print"] / len(found) - 0.30) <= 0.05
    photos = sum("photo" in e for e in found) / len(found)
    assert abs(photos - 0.95) <= 0.02
    assert all(e["dob"] == person["dob"] and e["sex"] == person["sex"] for e in found)
    variants = sum(e["nam"] != person["nam"] for e in found) / len(found)
    assert 0.0 < variants < 0.5
    with pytest.raises(ValueError, match="five"):
        s.encounters(person, 6)


def test_no_match_idr_has_no_encounters_and_no_iar() -> None:
    docs = scenario(40)
    idr = docs["idr"]
    assert idr["type2"] == {"result": "no-match", "encounters": []}
    assert "iar" not in idr["type2"]
    s = Synthesizer(40)
    car = docs["car"]
    determination = docs["iar"]["type2"]
    with pytest.raises(ValueError, match="no-match"):
        s.idr(car, gmt=T0, encounters=[], iar=determination)
    with pytest.raises(ValueError, match="no-match"):
        s.iaq(car, gmt=T0, encounters=[])


def test_match_idr_iar_and_routing_headers() -> None:
    docs = scenario(41)
    car = docs["car"]
    tcn = car["type1"]["tcn"]
    match = docs["idr_match"]
    assert match["type2"]["result"] == "match"
    assert len(match["type2"]["encounters"]) == 3
    assert match["type2"]["iar"] == docs["iar"]["type2"]
    for key in ("sre", "idr", "idr_match", "errt"):
        head = docs[key]["type1"]
        assert head["tcr"] == tcn
        assert head["ori"] == CJIS_ORI
        assert head["dai"] == car["type1"]["ori"]
    assert docs["iaq"]["type1"]["dai"] == LESC_ORI
    assert docs["iaq"]["type2"]["lea"] == car["type1"]["ori"]
    assert docs["iaq"]["type2"]["srl"] == [e["srl"] for e in match["type2"]["encounters"]]
    assert docs["iar"]["type1"]["ori"] == LESC_ORI
    assert docs["iar"]["type1"]["dai"] == CJIS_ORI
    assert docs["sre_nff"]["type2"]["ident"] == match["type2"]
    assert docs["errt"]["type2"]["msg"][0]["code"] == ERROR_SAMPLES[0][0]


def test_responses_to_a_cpi_name_the_booked_person() -> None:
    docs = scenario(42)
    person = docs["person"]
    assert docs["iaq_cpi"]["type2"]["pob"] == person["pob"]
    assert docs["detainer_cpi"]["subject"]["sex"] == person["sex"]
    assert docs["detainer_cpi"]["subject"]["fbi"] == "1234567AB"
    stranger = {"type1": {"tcn": "XX0000000-20261125-999999", "ori": "XX0010000"}, "type2": {}}
    with pytest.raises(ValueError, match="person="):
        Synthesizer(1).iaq(stranger, gmt=T0, encounters=docs["history"])


def test_determination_rules() -> None:
    s = Synthesizer(50)
    person = s.person()
    usc = s.determination(person, alienage="us-citizen", dro="NCICE0100")
    assert usc["removability"] == "not-applicable"
    assert usc["offense_level"] is None
    with pytest.raises(ValueError, match="US citizen"):
        s.determination(person, alienage="us-citizen", offense_level=1, dro="NCICE0100")
    for level in (1, 2, 3):
        for table in ("sop", "strategic-plan"):
            made = s.determination(person, offense_level=level, dro="NCICE0100", level_table=table)
            pairs = [(h["ncic"], h.get("sentence_days")) for h in made["history"]]
            assert highest_level(pairs, table=table) == level
    given = [{"ncic": "2399", "aol": "LARCENY", "doo": "20200101", "disposition": "convicted"}]
    assert (
        s.determination(person, alienage="alien", history=given, dro="NCICE0100")["offense_level"]
        == 2
    )
    assert (
        s.determination(person, alienage="alien", history=[], dro="NCICE0100")["offense_level"]
        is None
    )


def test_drawn_determinations_follow_the_briefing_shares() -> None:
    s = Synthesizer(51)
    person = s.person()
    made = [s.determination(person, dro="NCICE0100") for _ in range(3000)]
    alienage = Counter(d["alienage"] for d in made)
    assert abs(alienage["us-citizen"] / 3000 - 0.04) <= 0.015
    levels = Counter(d["offense_level"] for d in made if d["alienage"] != "us-citizen")
    total = sum(levels.values())
    assert abs(levels[1] / total - 8 / 96) <= 0.02
    for d in made:
        pairs = [(h["ncic"], h.get("sentence_days")) for h in d["history"]]
        assert highest_level(pairs) == d["offense_level"]


def test_detainer_deadline_and_defaults() -> None:
    docs = scenario(60)
    det = docs["detainer"]
    released = T0 + datetime.timedelta(days=2)
    assert det["custody_deadline"] == gmt(custody_deadline(released))
    assert det["type1"]["ori"] == det["dro"] == "NCICE0100"
    assert det["type1"]["dai"] == det["lea"] == docs["car"]["type1"]["ori"]
    assert "custody_deadline" not in docs["detainer_cpi"]


def test_sut_profile_opted_out_are_activated() -> None:
    s = Synthesizer(70)
    profile = s.sut_profile("NC", activated=5, opted_out=2)
    assert set(profile["opted_out_oris"]) <= set(profile["activated_oris"])
    assert len(profile["activated_oris"]) == 5
    assert profile["sib_ori"] == "NC0000000"
    with pytest.raises(ValueError, match="opted-out"):
        s.sut_profile("NC", activated=1, opted_out=2)
