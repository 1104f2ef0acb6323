"""ICE LESC and the DRO field office on an IDENT match: CJIS's IAQ, LESC's IAR to CJIS and its copy
to the DRO of the LEA's state, and for a Level 1 alien a Form I-247 detainer (SOP 2.1.4, 2.1.5,
3.2.x; MOA IV.B)."""

from __future__ import annotations

import hashlib
from typing import Any

from protocol.ebts import CJIS_ORI, LESC_ORI, dro_ori, ori_state

from .ident import IdentRepository
from .scenario import Case
from .steps import Builder, Step

__all__ = ["lesc_steps"]


def lesc_steps(
    build: Builder,
    repository: IdentRepository,
    *,
    key: str,
    person: dict[str, Any],
    fbi: str,
    encounters: list[dict[str, Any]],
    case: Case,
    d_idr: float,
    facts: dict[str, Any],
) -> tuple[list[Step], dict[str, Any], float]:
    """The IAQ, the IAR (to CJIS and the DRO copy) and any detainer; with the determination
    and the delay of the IAR."""
    submission = build.submission
    lea = submission["type1"]["ori"]
    charges = submission["type2"]["asl"]
    iaq = {
        **{f: person[f] for f in ("nam", "dob", "pob", "sex")},
        "fbi": fbi,
        "asl": charges,
        "lea": lea,
        "srl": [e["srl"] for e in encounters],
    }
    steps = [Step(d_idr, "record", "lesc", build.message("IAQ", iaq, dai=LESC_ORI))]
    determination = repository.determine(key, person, charges, lea=lea, outcome=case.outcome)
    determination["fbi"] = fbi
    facts["offense_level"] = determination["offense_level"]
    facts["alienage"] = determination["alienage"]
    d_iar = max(d_idr, case.timing.delay("iar").total_seconds())
    to_cjis = build.message("IAR", determination, ori=LESC_ORI, dai=CJIS_ORI)
    steps.append(Step(d_iar, "record", "lesc", to_cjis))
    dro = dro_ori(ori_state(lea))
    steps.append(
        Step(d_iar, "record", "dro", build.message("IAR", determination, ori=LESC_ORI, dai=dro))
    )
    if determination["offense_level"] == 1 and determination["alienage"] == "alien":
        steps.append(Step(d_iar, "record", "dro", _detainer(build, person, fbi, lea, dro)))
    return steps, determination, d_iar


def _detainer(
    build: Builder, person: dict[str, Any], fbi: str, lea: str, dro: str
) -> dict[str, Any]:
    digest = int(hashlib.blake2b(build.tcn.encode(), digest_size=4).hexdigest(), 16)
    return {
        "type1": build.type1("DET", ori=dro, dai=lea),
        "form": "I-247",
        "subject": {
            **{f: person[f] for f in ("nam", "dob", "pob", "sex")},
            "fbi": fbi,
            "file_no": f"SYN-A{digest % 10**9:09d}",
        },
        "lea": lea,
        "dro": dro,
        "actions": ["investigation-initiated"],
        "offense_level": 1,
    }
