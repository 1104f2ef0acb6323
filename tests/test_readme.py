"""The README tells the truth: its command blocks run, in order, and print what it shows.

The conventions (stated in the README's Development section): a ```sh block runs under bash in one
scratch folder holding a copy of `examples/`, with ports 8700 and 8701 replaced by free ones, and
what it started in the background stopped when it ends; a ```text block right after it is its
expected output (each line in order, `…` for any text, `N s` for any duration; ```text exact:
every line printed, no other); a ```python block
runs with this Python; a block fenced ```sh no-test (or ```python no-test) is not run.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

import pytest

from mocks.servers.server import free_port

REPO = Path(__file__).resolve().parent.parent
_FENCE = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)
_TIMEOUT = 600


class Block(NamedTuple):
    language: str
    body: str
    expected: str | None
    line: int
    exact: bool = False


def _blocks(text: str) -> list[Block]:
    found = list(_FENCE.finditer(text))
    blocks = []
    for i, match in enumerate(found):
        language, info, body = match.group(1), match.group(2).strip(), match.group(3)
        if language not in ("sh", "python") or "no-test" in info.split():
            continue
        expected, exact = None, False
        after = found[i + 1] if i + 1 < len(found) else None
        between = text[match.end() : after.start()] if after else ""
        if after is not None and after.group(1) == "text" and not between.strip():
            expected, exact = after.group(3), "exact" in after.group(2).split()
        line = text.count("\n", 0, match.start()) + 1
        blocks.append(Block(language, body, expected, line, exact))
    return blocks


def _pattern(line: str) -> re.Pattern[str]:
    parts = re.split(r"(…|\b\d+(?:\.\d+)? s\b)", line.strip())
    regex = "".join(
        ".*" if p == "…" else r"[\d.]+ s" if re.fullmatch(r"\d+(?:\.\d+)? s", p) else re.escape(p)
        for p in parts
    )
    return re.compile(regex)


def _missing(expected: str, printed: str, *, exact: bool = False) -> list[str]:
    """The expected lines not found, in order, among the printed ones; `exact`: also each
    printed line the expected ones do not show."""
    lines = [line.strip() for line in printed.splitlines()]
    if exact:
        lines = [line for line in lines if line]
        wanted = [w for w in expected.splitlines() if w.strip()]
        unmatched = [
            w for w, got in zip(wanted, lines, strict=False) if not _pattern(w).fullmatch(got)
        ]
        return unmatched + wanted[len(lines) :] + [f"(not shown) {x}" for x in lines[len(wanted) :]]
    at, missing = 0, []
    for want in (w for w in expected.splitlines() if w.strip()):
        pattern = _pattern(want)
        hit = next((i for i in range(at, len(lines)) if pattern.fullmatch(lines[i])), None)
        if hit is None:
            missing.append(want)
        else:
            at = hit + 1
    return missing


def _run(block: Block, folder: Path, env: dict[str, str]) -> tuple[int, str]:
    log = folder / f"block-{block.line}.log"
    if block.language == "python":
        script = folder / f"block-{block.line}.py"
        script.write_text(block.body)
        command = [sys.executable, str(script)]
    else:
        command = ["bash", "-euo", "pipefail", "-c", block.body]
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=folder, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        try:
            code = process.wait(timeout=_TIMEOUT)
        finally:
            _stop_group(process.pid)
    return code, log.read_text()


def _stop_group(group: int) -> None:
    """Stop what a block left running in the background, and wait until it is gone."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            os.killpg(group, 0)
            time.sleep(0.1)
        os.killpg(group, signal.SIGKILL)


def test_the_readme_blocks_run_and_print_what_it_shows(tmp_path: Path) -> None:
    ports = {"8700": str(free_port()), "8701": str(free_port())}

    def local(text: str) -> str:
        return re.sub(r"\b(8700|8701)\b", lambda m: ports[m.group(1)], text)

    shutil.copytree(REPO / "examples", tmp_path / "examples")
    for path in (tmp_path / "examples").rglob("*.json"):
        path.write_text(local(path.read_text()))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("INTEROP_SIGNING_KEY", None)
    blocks = _blocks((REPO / "README.md").read_text())
    assert len(blocks) >= 8
    for block in blocks:
        code, printed = _run(block._replace(body=local(block.body)), tmp_path, env)
        assert code == 0, f"README line {block.line} exited {code}:\n{printed[-3000:]}"
        if block.expected is not None:
            missing = _missing(local(block.expected), printed, exact=block.exact)
            assert not missing, f"README line {block.line} did not print {missing}:\n{printed}"


def test_the_expected_output_rules() -> None:
    printed = "demo: 45 passed in 12.5 s wall\nverified x: signed by a throwaway key ab12…\n"
    assert _missing("demo: 45 passed in 51 s wall\nverified x: signed by …", printed) == []
    assert _missing("demo: 44 passed in 51 s wall", printed) == ["demo: 44 passed in 51 s wall"]
    assert _missing("verified x: …\ndemo: 45 passed in 1 s wall", printed) == [
        "demo: 45 passed in 1 s wall"
    ]


def test_an_exact_block_shows_every_line_printed() -> None:
    printed = "FAIL car.json (car)\n     $.a: bad\n     $.b: bad\nexit code 1\n"
    assert (
        _missing("FAIL car.json (car)\n$.a: bad\n$.b: bad\nexit code 1", printed, exact=True) == []
    )
    assert _missing("FAIL car.json (car)\n$.a: bad\nexit code 1", printed) == []
    assert _missing("FAIL car.json (car)\n$.a: bad\nexit code 1", printed, exact=True) == [
        "exit code 1",
        "(not shown) exit code 1",
    ]
    (block,) = _blocks("```sh\necho hi\n```\n\n```text exact\nhi\n```\n")
    assert block.exact
    (block,) = _blocks("```sh\necho hi\n```\n\n```text\nhi\n```\n")
    assert not block.exact


@pytest.mark.parametrize(("info", "runs"), [("sh", True), ("sh no-test", False),
                                             ("python", True), ("text", False)])  # fmt: skip
def test_which_blocks_run(info: str, runs: bool) -> None:
    text = f"```{info}\necho hi\n```\n"
    assert bool(_blocks(text)) is runs
