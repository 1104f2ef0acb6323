"""Synthetic identifiers and ORIs: biometric keys, FBI numbers, SIDs, system record locators,
photo references, ICE file numbers, TCNs, LEA and SIB ORIs, each drawn from a seeded
``random.Random`` and never issued twice by one generator."""

from __future__ import annotations

import datetime
import random
from collections.abc import Callable

from faker import Faker

from protocol.ebts import ebts_date

__all__ = ["Identifiers"]


class Identifiers:
    """The seeded sources (``rng``, ``faker``) and the identifiers drawn from them."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.faker = Faker("en_US")
        self.faker.seed_instance(seed)
        self._issued: set[str] = set()
        self._tcn_count = 0
        self._response_count = 0

    def reseed(self, seed: int) -> None:
        """Start over from `seed`: what is drawn next depends on it alone (the identifiers issued
        before are forgotten, so a long-lived source does not hold every one it ever drew)."""
        self.rng.seed(seed)
        self.faker.seed_instance(seed)
        self._issued.clear()

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

    @staticmethod
    def sib_ori(state: str) -> str:
        """The SIB's ORI: the state code and seven zeros."""
        return f"{state}0000000"
