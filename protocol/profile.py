"""SUT profiles: the SIB under test described for the suite (`schemas/sut-profile.json`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import schemas

from .ebts import ori_state

__all__ = ["ProfileError", "load_sut_profile", "sut_profile_problems"]


class ProfileError(ValueError):
    """A SUT profile that breaks its schema or a rule the schema cannot express."""


def sut_profile_problems(document: object) -> list[str]:
    """Every problem with a SUT profile, each naming the field and the rule."""
    found = [str(p) for p in schemas.problems("sut-profile", document)]
    if found or not isinstance(document, dict):
        return found
    state = document["state"]
    fields = ("activated_oris", "non_activated_oris", "opted_out_oris")
    for field in fields:
        for i, ori in enumerate(document.get(field, [])):
            if ori_state(ori) != state:
                found.append(
                    f"$.{field}[{i}]: ORI {ori} is not in state {state} "
                    "(rule: an ORI's first two characters are its state)"
                )
    activated = set(document["activated_oris"])
    for i, ori in enumerate(document.get("non_activated_oris", [])):
        if ori in activated:
            found.append(
                f"$.non_activated_oris[{i}]: ORI {ori} is also listed as activated "
                "(rule: an ORI is activated or not)"
            )
    if ori_state(document["sib_ori"]) != state:
        found.append(
            f"$.sib_ori: ORI {document['sib_ori']} is not in state {state} (rule: same state)"
        )
    return found


def load_sut_profile(path: str | Path) -> dict[str, Any]:
    """Read and check a SUT profile file; `ProfileError` lists every problem."""
    source = Path(path)
    try:
        document = json.loads(source.read_text())
    except json.JSONDecodeError as exc:
        raise ProfileError(f"{source}: not JSON: {exc}") from None
    found = sut_profile_problems(document)
    if found:
        raise ProfileError(f"{source}: " + "; ".join(found))
    result: dict[str, Any] = document
    return result
