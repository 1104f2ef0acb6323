"""Synthetic identifiers and ORIs: biometric keys, FBI numbers, SIDs, system record locators,
photo references, ICE file numbers, TCNs, LEA and SIB ORIs, each drawn from a seeded
``random.Random`` and never issued twice by one generator."""

from __future__ import annotations

import datetime
import random
from collections.abc import Callable

from faker import Faker

import schemas
from protocol.ebts import ebts_date

__all__ = ["STATE_CODES", "Identifiers"]

STATE_CODES: tuple[str, ...] = tuple(schemas.schema("common")["$defs"]["state_code"]["enum"])
"""NCIC state codes, as listed by ``common.json#/$defs/state_code``."""


class Identifiers:
    """The seeded sources (``rng``, ``faker``) and the identifiers drawn from them."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self._faker = Faker("en_US")
        self._faker_seed: int | None = seed
        self._issued: set[str] = set()
        self._tcn_count = 0
        self._response_count = 0

    def reseed(self, seed: int) -> None:
        """Start over from `seed`: what is drawn next depends on it alone (the identifiers issued
        before are forgotten, so a long-lived source does not hold every one it ever drew)."""
        self.rng.seed(seed)
        self._faker_seed = seed
        self._issued.clear()

    @property
    def faker(self) -> Faker:
        """The seeded Faker, seeded when first used after a (re)seed: the same draws, without
        the cost of seeding it for the IDENT searches and LESC determinations that draw no name."""
        if self._faker_seed is not None:
            self._faker.seed_instance(self._faker_seed)
            self._faker_seed = None
        return self._faker

    # -- identifiers -----------------------------------------------------------------------

    def _unique(self, make: Callable[[], str]) -> str:
        while True:
            value = make()
            if value not in self._issued:
                self._issued.add(value)
                return value

    def _hex(self, digits: int) -> str:
        return f"{self.rng.getrandbits(4 * digits):0{digits}X}"

    def biometric_key(self) -> str:
        """A fresh synthetic biometric key, ``SYN-`` and 16 upper-case hex digits."""
        return self._unique(lambda: f"SYN-{self._hex(16)}")

    def fbi_number(self) -> str:
        """A fresh synthetic FBI number: seven digits and two letters."""
        letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
        return self._unique(
            lambda: (
                f"{self.rng.randrange(10**6, 10**7)}"
                f"{self.rng.choice(letters)}{self.rng.choice(letters)}"
            )
        )

    def sid(self, state: str) -> str:
        """A fresh synthetic State Identification Number: state code and eight digits."""
        return self._unique(lambda: f"{state}{self.rng.randrange(10**8):08d}")

    def srl(self) -> str:
        """A fresh synthetic IDENT system record locator, ``SRL-`` and 12 hex digits."""
        return self._unique(lambda: f"SRL-{self._hex(12)}")

    def photo_ref(self) -> str:
        """A fresh synthetic photograph reference, ``synthetic://photo/`` and 16 hex digits."""
        return self._unique(lambda: f"synthetic://photo/{self._hex(16).lower()}")

    def file_number(self) -> str:
        """A fresh synthetic ICE file number, ``SYN-A`` and nine digits."""
        return self._unique(lambda: f"SYN-A{self.rng.randrange(10**9):09d}")

    def tcn(self, ori: str, day: datetime.date) -> str:
        """A submission TCN unique to this generator: ``{ori}-{CCYYMMDD}-{n:06d}``."""
        self._tcn_count += 1
        return f"{ori}-{ebts_date(day)}-{self._tcn_count:06d}"

    def response_tcn(self, tot: str, day: datetime.date) -> str:
        """A response TCN unique to this generator: ``{TOT}-{CCYYMMDD}-{n:06d}``."""
        self._response_count += 1
        return f"{tot}-{ebts_date(day)}-{self._response_count:06d}"

    # -- ORIs ------------------------------------------------------------------------------

    def lea_ori(self, state: str) -> str:
        """A county LEA ORI: state, 3-digit county (001-199), 2-digit agency, ``00``."""
        county = self.rng.randint(1, 199)
        agency = self.rng.randint(0, 99)
        return f"{state}{county:03d}{agency:02d}00"

    def leas(self, state: str, n: int) -> list[str]:
        """``n`` distinct LEA ORIs of ``state``."""
        if not 0 <= n <= 199 * 100:
            raise ValueError(f"cannot make {n} distinct LEA ORIs")
        found: list[str] = []
        while len(found) < n:
            ori = self.lea_ori(state)
            if ori not in found:
                found.append(ori)
        return found

    def other_state_ori(self, state: str) -> str:
        """A county LEA ORI of a state other than ``state`` (a booking from out of state)."""
        others = [s for s in STATE_CODES if s != state]
        return self.lea_ori(self.rng.choice(others))

    @staticmethod
    def sub_agency(ori: str, agency: int) -> str:
        """Agency ``agency`` (1-99) of the county of ``ori``: an ORI sharing its first five
        characters, as a police department shares its county sheriff's (NC0920000, NC0920100)."""
        if not 0 <= agency <= 99:
            raise ValueError(f"an ORI's agency number is 00-99, not {agency}")
        return f"{ori[:5]}{agency:02d}{ori[7:]}"

    @staticmethod
    def booking_number(n: int, year: int) -> str:
        """The ``n``-th booking number of a year, numbered as every LEA numbers its own: two LEAs'
        bookings collide on it (``2026-000001`` at both)."""
        return f"{year}-{n:06d}"

    @staticmethod
    def fixable_misspellings(ori: str) -> dict[str, str]:
        """``ori`` as a booking form may garble it, each still readable as ``ori`` by a human:
        in lower case, padded with blanks, and with a blank after the state code."""
        return {
            "lower-case": ori.lower(),
            "padded": f" {ori} ",
            "inner-blank": f"{ori[:2]} {ori[2:]}",
        }

    @staticmethod
    def sib_ori(state: str) -> str:
        """The SIB's ORI: the state code and seven zeros."""
        return f"{state}0000000"
