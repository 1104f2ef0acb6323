"""A small response leaves in one write; nothing held is lost or reordered."""

from __future__ import annotations

import asyncio
from typing import Any

from mocks.transport.onewrite import _OneWrite

HEAD = b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\n"


class _Transport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.eof = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def write_eof(self) -> None:
        self.eof = True

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str) -> Any:
        return f"extra {name}"


def _wrapped() -> tuple[_OneWrite, _Transport, asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    raw = _Transport()
    return _OneWrite(raw, loop), raw, loop  # type: ignore[arg-type]


def test_the_header_block_and_body_go_out_in_one_write() -> None:
    wrapped, raw, loop = _wrapped()
    wrapped.write(HEAD)
    assert raw.writes == []
    wrapped.write(b"{}")
    assert raw.writes == [HEAD + b"{}"]
    loop.close()


def test_a_header_block_alone_is_written_on_the_next_turn_of_the_loop() -> None:
    wrapped, raw, loop = _wrapped()
    wrapped.write(HEAD)
    loop.run_until_complete(asyncio.sleep(0))
    assert raw.writes == [HEAD]
    loop.close()


def test_an_interim_1xx_response_is_not_held() -> None:
    wrapped, raw, loop = _wrapped()
    wrapped.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    assert raw.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    loop.close()


def test_writelines_close_and_eof_keep_the_order_of_what_was_held() -> None:
    wrapped, raw, loop = _wrapped()
    wrapped.write(HEAD)
    wrapped.writelines([b"{", b"}"])
    assert raw.writes == [HEAD + b"{}"]
    wrapped.write(HEAD)
    wrapped.write_eof()
    wrapped.write(HEAD)
    wrapped.close()
    assert raw.writes == [HEAD + b"{}", HEAD, HEAD]
    assert raw.eof
    assert raw.closed
    assert wrapped.is_closing()
    assert wrapped.get_extra_info("peername") == "extra peername"
    loop.close()
