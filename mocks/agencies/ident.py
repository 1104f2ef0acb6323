"""The synthetic DHS IDENT repository and the ICE LESC status determination.

Outcomes are a function of the scenario's seed and the subject's synthetic biometric key, so the
same subject gets the same answer every time it is searched, in this run or after a restart.
By default about 12% of searches match; of matches about 8% are Level 1 and 4% US citizens; 70%
of IDENT records are two-print and 30% ten-print (briefing figures).
"""

from __future__ import annotations

import hashlib
from typing import Any

from protocol.ebts import dro_ori, ori_state
from protocol.levels import highest_level
from synthetic import CHARGES, Synthesizer

__all__ = ["IdentRepository", "classified"]


_CODE_OF_LITERAL = {literal: code for code, literal in CHARGES}


def classified(charge: dict[str, Any]) -> dict[str, Any]:
    """A charge with its NCIC offense code: the one the SIB gave (a harness item EBTS lacks), else
    the code LESC knows the AOL literal by; a literal it does not know stays unclassified."""
    if "ncic" in charge:
        return dict(charge)
    code = _CODE_OF_LITERAL.get(" ".join(str(charge.get("aol", "")).upper().split()))
    return {**charge, "ncic": code} if code else dict(charge)


def _seed_of(*parts: object) -> int:
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


class IdentRepository:
    """Answers IDENT searches and LESC queries for synthetic subjects."""

    def __init__(self, seed: int, mix: dict[str, float]) -> None:
        self.seed = seed
        self.mix = mix
        self._synth = Synthesizer(seed)

    def _reseed(self, *parts: object) -> Synthesizer:
        value = _seed_of(self.seed, *parts)
        self._synth.reseed(value)
        return self._synth

    def person(self, key: str, submission: dict[str, Any]) -> dict[str, Any]:
        """The subject as booked, filled in by the repository where the submission is silent."""
        type2 = submission.get("type2", {})
        fields = ("nam", "dob", "pob", "sex")
        if all(f in type2 for f in fields):
            return {f: type2[f] for f in fields}
        made = self._reseed("person", key).person()
        return {f: type2.get(f, made[f]) for f in fields}

    def search(
        self, key: str, person: dict[str, Any], outcome: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """The DHS encounters with this subject: none for a no-match, one to five for a match."""
        synth = self._reseed("ident", key)
        wanted = outcome.get("ident")
        matched = (
            synth.rng.random() < self.mix["match_rate"] if wanted is None else wanted == "match"
        )
        if not matched:
            return []
        count = outcome.get("encounters") or synth.rng.choice([1, 1, 1, 2, 2, 3, 4, 5])
        encounters = synth.encounters(person, count)
        for encounter in encounters:
            ten = synth.rng.random() < self.mix["ten_print"]
            encounter["prints"] = "rolled-ten-print" if ten else "flat-two-print"
        return encounters

    def determine(
        self,
        key: str,
        person: dict[str, Any],
        charges: list[dict[str, Any]],
        *,
        lea: str,
        outcome: dict[str, Any],
    ) -> dict[str, Any]:
        """The LESC status determination (IAR) for a matched subject.

        The offense level is the most serious of the instant charges and the criminal history,
        classified by NCIC code with the SOP Appendix A table (`protocol.levels`).
        """
        synth = self._reseed("lesc", key)
        alienage = outcome.get("alienage")
        level = outcome.get("offense_level")
        if alienage is None and level is None:
            roll = synth.rng.random()
            if roll < self.mix["us_citizen"]:
                alienage = "us-citizen"
            elif synth.rng.random() < self.mix["level_1"]:
                level = 1
            else:
                level = synth.rng.choice([2, 3])
        if alienage == "us-citizen":
            return synth.determination(person, alienage="us-citizen", dro=dro_ori(ori_state(lea)))
        determination = synth.determination(
            person, alienage=alienage or "alien", offense_level=level, dro=dro_ori(ori_state(lea))
        )
        pending = [
            {**charge, "disposition": "pending"}
            for charge in map(classified, charges)
            if not any(
                h.get("ncic") == charge.get("ncic") and h["doo"] == charge["doo"]
                for h in determination["history"]
            )
        ]
        history = determination["history"] + pending
        determination["history"] = history
        determination["offense_level"] = highest_level(
            (h["ncic"], h.get("sentence_days")) for h in history if "ncic" in h
        )
        return determination

    def name_search(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """LESC's search of DHS records by name, date of birth, sex and place of birth (an NLETS
        IAQ, SOP 2.2.7): the same query finds the same candidates every time, aliases and
        near-matches among them; none about two times in three."""
        parts = (query["nam"], query["dob"], query["sex"], query["pob"])
        return self._reseed("nlets", *parts).name_candidates(query)
