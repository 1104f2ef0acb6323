"""How a check's end is classified: the SIB broke a rule (failed) or the harness could not test
(error), and the reason in domain words, never a Python repr or pytest's source."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from conformance.finding import Finding
from conformance.outcomes import classify
from conformance.run import DEMO_PROFILES
from mocks.servers.server import free_port

SUT = "http://127.0.0.1:8701"


def _refused(url: str) -> httpx.ConnectError:
    return httpx.ConnectError("[Errno 111] Connection refused", request=httpx.Request("POST", url))


def test_a_finding_is_failed_with_its_message_and_evidence() -> None:
    found = classify(Finding("the IDR/IAR arrived twice", evidence=["a", "b"]), when="call",
                     sut_url=SUT)  # fmt: skip
    assert found == ("failed", "the IDR/IAR arrived twice", ("a", "b"))


def test_a_plain_assert_is_its_message_without_introspection() -> None:
    routed = {"SRE-1": 2}
    with pytest.raises(AssertionError) as caught:
        assert set(routed.values()) == {1}, "routed more than once"
    found = classify(caught.value, when="call", sut_url=SUT)
    assert found == ("failed", "routed more than once", ())


def test_an_assert_without_message_says_which_condition() -> None:
    kinds = ["SRE"]
    with pytest.raises(AssertionError) as caught:
        assert kinds == ["SRE", "IDR"]
    found = classify(caught.value, when="call", sut_url=SUT)
    assert found.outcome == "failed"
    assert found.reason == "the check's expectation did not hold: ['SRE'] == ['SRE', 'IDR']"


def test_a_sib_that_stops_answering_fails_the_check() -> None:
    found = classify(_refused(f"{SUT}/bookings"), when="call", sut_url=SUT)
    assert found == (
        "failed",
        f"the SIB stopped answering (POST {SUT}/bookings: [Errno 111] Connection refused)",
        (),
    )


def test_mocks_that_stop_answering_are_an_error_even_inside_an_assert() -> None:
    mocks = "http://127.0.0.1:8700/admin/reset"
    try:
        try:
            raise _refused(mocks)
        except httpx.ConnectError as exc:
            raise AssertionError("could not reset") from exc
    except AssertionError as wrapped:
        found = classify(wrapped, when="call", sut_url=SUT)
    assert found == (
        "error",
        f"the mock endpoints did not answer the harness (POST {mocks}: [Errno 111] Connection "
        "refused)",
        (),
    )


def test_a_harness_fault_is_an_error_in_one_line_without_reprs() -> None:
    class Thing:
        pass

    found = classify(KeyError(f"no {Thing()}\nmore"), when="setup", sut_url=SUT)
    assert found.outcome == "error"
    assert found.reason.startswith("the harness could not set up the check: KeyError: ")
    assert "object at 0x" not in found.reason
    assert "\n" not in found.reason


def test_the_plugin_preflight_stops_a_pytest_run_in_one_line(tmp_path: Path) -> None:
    port = free_port()
    profile = tmp_path / "sut.json"
    profile.write_text(json.dumps({**DEMO_PROFILES["nff"], "sut_url": f"http://127.0.0.1:{port}",
                                   "lea_inbox_base": f"http://127.0.0.1:{port}/lea"}))  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--pyargs", "conformance.suite",
         "--sut-profile", str(profile), "-c", "/dev/null", "--rootdir", str(tmp_path)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 4
    assert (
        f"ERROR: preflight: nothing answers at the SIB's URL http://127.0.0.1:{port} (connection "
        "refused): start your SIB, or fix --sut-url (or sut_url in the profile)"
    ) in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
