"""The outbound pool (`mocks.delivery.client.Outbound`) against raw servers that answer every way
HTTP/1.1 allows: kept alive, chunked, read until close, too late, cut short, malformed; and through
an injected httpx transport."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from mocks.delivery import client
from mocks.delivery.client import Answer, Outbound

pytestmark = pytest.mark.anyio

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def _server(handler: Handler) -> AsyncIterator[tuple[str, list[int]]]:
    """A raw TCP server; yields its URL and a list that counts the connections it accepted."""
    accepted: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", accepted
    finally:
        server.close()


async def _read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return head, await reader.readexactly(length)


async def _keep_alive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        head, body = await _read_request(reader)
        echo = head.split(b" ")[1] + b" " + body
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(echo), echo))
        await writer.drain()


async def test_requests_share_a_kept_alive_connection() -> None:
    async with _server(_keep_alive) as (url, accepted):
        outbound = Outbound()
        answers = [await outbound.post(f"{url}/a?b=1", b"x%d" % n, {}) for n in range(5)]
        await outbound.aclose()
    assert answers == [Answer(200, b"/a?b=1 x%d" % n) for n in range(5)]
    assert len(accepted) == 1


async def test_a_connection_idle_too_long_is_not_used_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(client, "KEEP_ALIVE_SECONDS", 0.05)
    async with _server(_keep_alive) as (url, accepted):
        outbound = Outbound()
        await outbound.post(url, b"1", {})
        await asyncio.sleep(0.1)
        await outbound.post(url, b"2", {})
        await outbound.aclose()
    assert len(accepted) == 2


async def test_concurrent_requests_get_their_own_answers() -> None:
    async with _server(_keep_alive) as (url, _):
        outbound = Outbound(connections=4)
        answers = await asyncio.gather(*(outbound.post(f"{url}/{n}", b"", {}) for n in range(40)))
        await outbound.aclose()
    assert [a.content for a in answers] == [b"/%d " % n for n in range(40)]


async def test_a_chunked_answer_is_read_whole() -> None:
    async def chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n\r\n")
        writer.write(b'3\r\n{"a\r\n5\r\n": 1}\r\n0\r\n\r\n')
        await writer.drain()
        await reader.read()

    async with _server(chunked) as (url, _):
        outbound = Outbound()
        answer = await outbound.post(url, b"{}", {"content-type": "application/json"})
        await outbound.aclose()
    assert answer.status_code == 201
    assert answer.json() == {"a": 1}


async def test_an_answer_without_length_ends_when_the_server_closes() -> None:
    async def until_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\ntaken, all of it")
        await writer.drain()

    async with _server(until_close) as (url, accepted):
        outbound = Outbound()
        first = await outbound.get(url)
        second = await outbound.get(url)
        await outbound.aclose()
    assert first == second == Answer(200, b"taken, all of it")
    assert len(accepted) == 2


async def test_no_answer_in_time_is_a_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        await reader.read()

    async with _server(silent) as (url, _):
        outbound = Outbound(timeout=0.2)
        with pytest.raises(httpx.ReadTimeout, match=r"no answer within 0\.2 s"):
            await outbound.post(url, b"{}", {})
        await outbound.aclose()


async def test_a_server_that_closes_without_answering_is_a_protocol_error() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)

    async with _server(hang_up) as (url, _):
        outbound = Outbound()
        with pytest.raises(httpx.RemoteProtocolError, match="closed the connection"):
            await outbound.post(url, b"{}", {})
        await outbound.aclose()


async def test_a_malformed_answer_is_a_protocol_error() -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        await writer.drain()
        await reader.read()

    async with _server(garbage) as (url, _):
        outbound = Outbound()
        with pytest.raises(httpx.RemoteProtocolError, match="malformed"):
            await outbound.post(url, b"{}", {})
        await outbound.aclose()


async def test_a_refused_connection_is_a_connect_error() -> None:
    async with _server(_keep_alive) as (url, _):
        pass  # closed: nothing listens on the port any more
    outbound = Outbound()
    with pytest.raises(httpx.ConnectError):
        await outbound.post(url, b"{}", {})
    await outbound.aclose()


async def test_only_http_urls_are_taken() -> None:
    outbound = Outbound()
    with pytest.raises(httpx.UnsupportedProtocol, match="ftp://x/"):
        await outbound.post("ftp://x/", b"", {})


async def test_an_injected_transport_carries_the_request() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json={"tcn": "T1"})

    outbound = Outbound(transport=httpx.MockTransport(handler))
    answer = await outbound.post("http://cjis.test/x", b"{}", {"x-interop-message-id": "m1"})
    await outbound.aclose()
    assert answer.status_code == 202
    assert answer.json() == {"tcn": "T1"}
    assert seen[0].headers["x-interop-message-id"] == "m1"
    assert seen[0].content == b"{}"


async def test_at_most_the_limit_in_flight_and_a_cancelled_wait_gives_its_turn_on() -> None:
    in_flight: list[int] = [0, 0]  # now, most

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await _read_request(reader)
            in_flight[0] += 1
            in_flight[1] = max(in_flight)
            await asyncio.sleep(0.02)
            in_flight[0] -= 1
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            await writer.drain()

    async with _server(slow) as (url, _):
        outbound = Outbound(connections=2)
        posts = [asyncio.create_task(outbound.post(url, b"", {})) for _ in range(6)]
        await asyncio.sleep(0.005)
        posts[3].cancel()  # waiting for a slot
        answers = await asyncio.gather(*posts, return_exceptions=True)
        after = await outbound.post(url, b"", {})
        await outbound.aclose()
    assert isinstance(answers[3], asyncio.CancelledError)
    assert [a for n, a in enumerate(answers) if n != 3] == [Answer(200, b"ok")] * 5
    assert after == Answer(200, b"ok")
    assert in_flight[1] == 2


async def test_a_connection_that_timed_out_is_not_used_again() -> None:
    calls: list[int] = []

    async def first_silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        calls.append(1)
        await _read_request(reader)
        if len(calls) == 1:
            await reader.read()
            return
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        await reader.read()

    async with _server(first_silent) as (url, accepted):
        outbound = Outbound(timeout=0.1)
        with pytest.raises(httpx.ReadTimeout):
            await outbound.post(url, b"{}", {})
        answer = await outbound.post(url, b"{}", {})
        await outbound.aclose()
    assert answer == Answer(200, b"ok")
    assert len(accepted) == 2


async def test_each_url_gets_its_own_target_and_host() -> None:
    async def echo_head(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head, _ = await _read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(head), head))
            await writer.drain()

    async with _server(echo_head) as (url, _):
        outbound = Outbound()
        heads = [(await outbound.post(f"{url}/{p}", b"x", {"a": p})).content for p in "abab"]
        got = (await outbound.get(f"{url}/a")).content
        await outbound.aclose()
    port = url.rsplit(":", 1)[1]
    for head, p in zip(heads, "abab", strict=True):
        assert head.startswith(f"POST /{p} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\n".encode())
        assert f"a: {p}\r\n".encode() in head
        assert b"content-length: 1\r\n" in head
    assert got.startswith(b"GET /a HTTP/1.1\r\n")
    assert b"content-length: 0\r\n" in got


async def test_a_deadline_that_falls_after_the_answer_leaves_the_connection_open() -> None:
    """The answer and the deadline in one turn of the loop: the answer stands, the connection
    stays usable."""
    connection = client._Connection(asyncio.get_running_loop())
    connection.waiter = asyncio.get_running_loop().create_future()
    connection.waiter.set_result(Answer(200, b"ok"))
    connection.timed_out(0.1)
    assert not connection.closed
    assert connection.waiter.result() == Answer(200, b"ok")
    connection.waiter = asyncio.get_running_loop().create_future()
    connection.timed_out(0.1)
    assert connection.closed
    with pytest.raises(httpx.ReadTimeout, match=r"no answer within 0\.1 s"):
        connection.waiter.result()
