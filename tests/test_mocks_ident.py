"""The synthetic IDENT repository answers for a subject from the seed and the subject alone."""

from __future__ import annotations

import tracemalloc

from mocks.agencies.ident import IdentRepository
from synthetic import Synthesizer

_MIX = {"match_rate": 1.0, "level_1": 0.08, "us_citizen": 0.04, "ten_print": 0.3}


def _person(n: int) -> dict[str, str]:
    made = Synthesizer(n).person()
    return {f: made[f] for f in ("nam", "dob", "pob", "sex")}


def test_a_search_does_not_depend_on_the_searches_before_it() -> None:
    fresh = IdentRepository(7, _MIX)
    first = fresh.search("SYN-00000000000000AA", _person(1), {})
    busy = IdentRepository(7, _MIX)
    for n in range(300):
        busy.search(f"SYN-{n:016X}", _person(n), {})
        busy.determine(f"SYN-{n:016X}", _person(n), [], lea="NY0100000", outcome={})
    assert first  # a match: every subject matches at this mix
    assert busy.search("SYN-00000000000000AA", _person(1), {}) == first


def test_a_long_lived_repository_keeps_no_trace_of_each_identifier_it_drew() -> None:
    busy = IdentRepository(7, _MIX)
    people = [_person(n) for n in range(1300)]

    def search(n: int) -> None:
        busy.search(f"SYN-{n:016X}", people[n], {})
        busy.determine(f"SYN-{n:016X}", people[n], [], lea="NY0100000", outcome={})

    for n in range(300):
        search(n)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(300, 1300):
            search(n)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # Bounded caches (dates of birth parsed, at most 4,096) account for about 100 KB here; each
    # identifier drawn and kept forever came to about 1 MB.
    assert grown < 384 * 1024, f"{grown:,} bytes kept after 1,000 more subjects"
