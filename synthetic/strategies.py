"""Hypothesis strategies for schema-valid Interoperability messages, built on the Synthesizer.

Each strategy draws a seed and the choices that matter (CAR or CPI, match or no-match, number of
encounters, alienage, ...) with hypothesis, lets ``synthetic.Synthesizer`` build the
document, and passes the result through ``schemas.validate``: an invalid draw fails loudly
(``schemas.SchemaViolation``) instead of being filtered away.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import TypeVar

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

import schemas
from protocol.ebts import dro_ori
from synthetic import (
    ALIENAGES,
    DETAINER_ACTIONS,
    ERROR_SAMPLES,
    PRINT_KINDS,
    STATE_CODES,
    Doc,
    Synthesizer,
)

__all__ = [
    "MESSAGE_NAMES",
    "Context",
    "charges",
    "contexts",
    "determinations",
    "encounters",
    "fragment",
    "messages",
    "oris",
    "people",
    "seeds",
    "states",
    "synthesizers",
]

MESSAGE_NAMES: tuple[str, ...] = tuple(
    n for n in schemas.NAMES if n not in ("common", "api", "requirements", "report")
)
"""Schema names ``messages`` has a strategy for."""

_T = TypeVar("_T")
_FIRST_DAY = datetime.date(2026, 1, 1)
_LAST_DAY = datetime.date(2027, 12, 31)
_TWO_DAYS = 2 * 86400

Context = tuple[Synthesizer, Doc, Doc, datetime.datetime]
"""A generator, a booking, the submission (CAR or CPI) made of it, and its GMT."""


# --- validation -------------------------------------------------------------------------------


def _validated(name: str) -> Callable[[Doc], Doc]:
    def check(doc: Doc) -> Doc:
        schemas.validate(name, doc)
        return doc

    check.__name__ = f"validate_{name.replace('-', '_')}"
    return check


def fragment(ref: str, doc: _T) -> _T:
    """Check ``doc`` against a part of a schema, e.g. ``"booking.json#/properties/person"``.

    ``ref`` is relative to the schemas' base URI. Raises ``schemas.SchemaViolation``.
    """
    schemas.validate(ref, doc)
    return doc


def _fragment_checked(ref: str) -> Callable[[_T], _T]:
    def check(doc: _T) -> _T:
        return fragment(ref, doc)

    return check


# --- parts ------------------------------------------------------------------------------------


def seeds() -> SearchStrategy[int]:
    """Seeds for a Synthesizer."""
    return st.integers(0, 2**32 - 1)


def synthesizers() -> SearchStrategy[Synthesizer]:
    """Freshly seeded Synthesizers."""
    return seeds().map(Synthesizer)


def states() -> SearchStrategy[str]:
    """NCIC state codes."""
    return st.sampled_from(STATE_CODES)


def people() -> SearchStrategy[Doc]:
    """Synthetic people as in ``booking.json``'s ``person``."""
    return (
        seeds()
        .map(lambda seed: Synthesizer(seed).person())
        .map(_fragment_checked("booking.json#/properties/person"))
    )


def oris(state: str | None = None) -> SearchStrategy[str]:
    """County LEA ORIs of ``state`` (any state when None)."""
    state_strategy = st.just(state) if state is not None else states()
    return (
        st.tuples(seeds(), state_strategy)
        .map(lambda pair: Synthesizer(pair[0]).lea_ori(pair[1]))
        .map(_fragment_checked("common.json#/$defs/ori"))
    )


def charges(min_size: int = 1, max_size: int = 5) -> SearchStrategy[list[Doc]]:
    """Charge lists (``common.json#/$defs/charges``) of ``min_size`` to ``max_size`` charges."""
    return (
        st.tuples(seeds(), st.integers(min_size, max_size))
        .map(lambda pair: Synthesizer(pair[0]).charges(pair[1]))
        .map(_fragment_checked("common.json#/$defs/charges"))
    )


def encounters(min_size: int = 0, max_size: int = 5) -> SearchStrategy[list[Doc]]:
    """Lists of DHS encounters with one synthetic person (``idr.json#/$defs/encounter``)."""

    def build(pair: tuple[int, int]) -> list[Doc]:
        synth = Synthesizer(pair[0])
        found = synth.encounters(synth.person(), pair[1])
        return [fragment("idr.json#/$defs/encounter", e) for e in found]

    return st.tuples(seeds(), st.integers(min_size, max_size)).map(build)


@st.composite
def determinations(draw: st.DrawFn) -> Doc:
    """LESC status determinations (``iar.json#/$defs/determination``)."""
    synth = Synthesizer(draw(seeds()))
    alienage = draw(st.sampled_from((None, *ALIENAGES)))
    level = None if alienage == "us-citizen" else draw(st.sampled_from((None, 1, 2, 3)))
    table = draw(st.sampled_from(("sop", "strategic-plan")))
    no_history = level is None and draw(st.integers(0, 9)) == 0
    history: list[Doc] | None = [] if no_history else None
    person = synth.person()
    doc = synth.determination(
        person,
        alienage=alienage,
        offense_level=level,
        dro=dro_ori(draw(states())),
        history=history,
        level_table=table,
    )
    return fragment("iar.json#/$defs/determination", doc)


@st.composite
def contexts(draw: st.DrawFn, *, cpi: bool | None = None) -> Context:
    """A booking and its CAR (or, with ``cpi``, its CPI), submitted at a drawn GMT."""
    synth = Synthesizer(draw(seeds()))
    state = draw(states())
    day = draw(st.dates(_FIRST_DAY, _LAST_DAY))
    ts = datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC)
    ts += datetime.timedelta(seconds=draw(st.integers(0, 86399)))
    doa = day - datetime.timedelta(days=draw(st.integers(0, 10)))
    as_cpi = draw(st.booleans()) if cpi is None else cpi
    booking = synth.booking(
        synth.lea_ori(state),
        doa=doa,
        prior_arrest_in_state=as_cpi,
        charges=synth.charges(draw(st.integers(1, 5)), doa=doa),
    )
    submission = synth.cpi(booking, gmt=ts) if as_cpi else synth.car(booking, gmt=ts)
    return synth, booking, submission, ts


def _later(draw: st.DrawFn, ts: datetime.datetime, most: int = _TWO_DAYS) -> datetime.datetime:
    return ts + datetime.timedelta(seconds=draw(st.integers(0, most)))


# --- messages ---------------------------------------------------------------------------------


@st.composite
def _booking(draw: st.DrawFn) -> Doc:
    synth = Synthesizer(draw(seeds()))
    state = draw(states())
    doa = draw(st.dates(_FIRST_DAY, _LAST_DAY))
    prior = draw(st.booleans())
    kind = draw(st.sampled_from((None, *PRINT_KINDS)))
    prints = None if kind is None else synth.prints(kind)
    return synth.booking(
        synth.lea_ori(state),
        doa=doa,
        prior_arrest_in_state=prior,
        charges=synth.charges(draw(st.integers(1, 5)), doa=doa),
        prints=prints,
    )


@st.composite
def _car(draw: st.DrawFn) -> Doc:
    return draw(contexts(cpi=False))[2]


@st.composite
def _cpi(draw: st.DrawFn) -> Doc:
    return draw(contexts(cpi=True))[2]


@st.composite
def _ident(draw: st.DrawFn, synth: Synthesizer, booking: Doc, at_least: int = 0) -> Doc:
    n = draw(st.integers(at_least, 5))
    found = synth.encounters(booking["person"], n)
    iar = None
    if n and draw(st.booleans()):
        iar = synth.determination(booking["person"], dro=dro_ori(booking["ori"][:2]))
    return synth.ident_response(found, iar)


@st.composite
def _sre(draw: st.DrawFn) -> Doc:
    synth, booking, submission, ts = draw(contexts())
    srf = draw(st.sampled_from(("I", "N")))
    ident = draw(_ident(synth, booking)) if draw(st.booleans()) else None
    return synth.sre(submission, srf=srf, gmt=_later(draw, ts), ident=ident)


@st.composite
def _idr(draw: st.DrawFn) -> Doc:
    synth, booking, submission, ts = draw(contexts())
    ident = draw(_ident(synth, booking))
    return synth.idr(
        submission, gmt=_later(draw, ts), encounters=ident["encounters"], iar=ident.get("iar")
    )


@st.composite
def _iaq(draw: st.DrawFn) -> Doc:
    synth, booking, submission, ts = draw(contexts())
    found = synth.encounters(booking["person"], draw(st.integers(1, 5)))
    return synth.iaq(submission, gmt=_later(draw, ts, 900), encounters=found)


@st.composite
def _nlets_iaq(draw: st.DrawFn) -> Doc:
    synth, booking, submission, ts = draw(contexts())
    tcr = draw(st.sampled_from((None, submission["type1"]["tcn"])))
    mid = f"{booking['ori']}-NQ-{draw(st.integers(0, 999999)):06d}"
    return synth.nlets_iaq(booking["person"], ori=booking["ori"], mid=mid, gmt=ts, tcr=tcr)


@st.composite
def _nlets_iar(draw: st.DrawFn) -> Doc:
    synth, _, _, ts = draw(contexts())
    iaq = draw(_nlets_iaq())
    found = synth.name_candidates(iaq["txt"], found=draw(st.sampled_from((0.0, 1.0))))
    mid = f"VTLESC000-NR-{draw(st.integers(0, 999999)):06d}"
    return synth.nlets_iar(iaq, mid=mid, gmt=_later(draw, ts), candidates=found)


@st.composite
def _iar(draw: st.DrawFn) -> Doc:
    synth, booking, submission, ts = draw(contexts())
    alienage = draw(st.sampled_from((None, *ALIENAGES)))
    level = None if alienage == "us-citizen" else draw(st.sampled_from((None, 1, 2, 3)))
    determination = synth.determination(
        booking["person"],
        alienage=alienage,
        offense_level=level,
        dro=dro_ori(booking["ori"][:2]),
        fbi=booking.get("fbi"),
        level_table=draw(st.sampled_from(("sop", "strategic-plan"))),
    )
    return synth.iar(submission, gmt=_later(draw, ts), determination=determination)


@st.composite
def _errt(draw: st.DrawFn) -> Doc:
    synth, _, submission, ts = draw(contexts())
    problems = draw(st.lists(st.sampled_from(ERROR_SAMPLES), min_size=1, max_size=5))
    return synth.errt(
        submission, gmt=_later(draw, ts, 3600), problems=problems, permanent=draw(st.booleans())
    )


@st.composite
def _detainer(draw: st.DrawFn) -> Doc:
    synth, _, submission, ts = draw(contexts())
    lodged = _later(draw, ts)
    released = _later(draw, lodged, 30 * 86400) if draw(st.booleans()) else None
    actions = draw(
        st.none() | st.lists(st.sampled_from(DETAINER_ACTIONS), min_size=1, max_size=4, unique=True)
    )
    return synth.detainer(submission, gmt=lodged, actions=actions, release_notified_at=released)


@st.composite
def _sut_profile(draw: st.DrawFn) -> Doc:
    synth = Synthesizer(draw(seeds()))
    activated = draw(st.integers(1, 8))
    return synth.sut_profile(
        draw(states()),
        nff=draw(st.booleans()),
        message_routing=draw(st.booleans()),
        activated=activated,
        opted_out=draw(st.integers(0, activated)),
        follows_virtual_clock=draw(st.booleans()),
    )


@st.composite
def _timing_profile(draw: st.DrawFn) -> Doc:
    synth = Synthesizer(draw(seeds()))
    return synth.timing_profile(draw(st.sampled_from(Synthesizer.TIMING_SHAPES)))


@st.composite
def _scenario(draw: st.DrawFn) -> Doc:
    synth = Synthesizer(draw(seeds()))
    return synth.scenario(
        draw(states()), overrides=draw(st.integers(0, 4)), faults=draw(st.integers(0, 3))
    )


_BUILDERS: dict[str, Callable[[], SearchStrategy[Doc]]] = {
    "booking": _booking,
    "car": _car,
    "cpi": _cpi,
    "sre": _sre,
    "idr": _idr,
    "iaq": _iaq,
    "iar": _iar,
    "nlets-iaq": _nlets_iaq,
    "nlets-iar": _nlets_iar,
    "errt": _errt,
    "detainer": _detainer,
    "sut-profile": _sut_profile,
    "timing-profile": _timing_profile,
    "scenario": _scenario,
}


def messages(name: str) -> SearchStrategy[Doc]:
    """Documents valid against schema ``name`` (one of ``MESSAGE_NAMES``), each validated."""
    if name == "submission":
        parts = st.one_of(_car(), _cpi())
    elif name == "delivery":
        parts = st.one_of(_sre(), _idr(), _iar(), _errt())
    elif name in _BUILDERS:
        parts = _BUILDERS[name]()
    else:
        raise ValueError(f"no strategy for {name!r}; known: {', '.join(MESSAGE_NAMES)}")
    return parts.map(_validated(name))
