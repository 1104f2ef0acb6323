from __future__ import annotations

import schemas
from protocol.timing import profile_names


def test_scenario_schema_names_exactly_the_shipped_timing_profiles() -> None:
    named = schemas.schema("scenario")["$defs"]["timing"]["anyOf"][0]["enum"]
    assert sorted(named) == profile_names()
