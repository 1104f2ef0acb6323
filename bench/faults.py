"""The mocks under faults, measured from outside (real sockets on 127.0.0.1); prints figures.

1. **full disk during a burst** with the SIB's callback up: `--cars` CARs posted 16 at a time to
   the mocks (in this process, on a scaled clock) while their responses flow to a local SIB; a
   third of the way in the ledger's database is capped (`PRAGMA max_page_count`: SQLite's own
   "database or disk is full"), held full for `--hold` seconds, then freed. Prints the posts the
   SIB got while full, deliveries lost and duplicated, the 503s (and an SMTP reply) while full,
   the seconds to recover once there is room, and the log lines it took.
2. **idle sockets**: `interop serve --smtp-port` in a child process whose `nofile` limit is
   1,024 (soft and hard); 1,100 idle HTTP and 1,100 idle SMTP connections are opened, then
   `/health` is asked 200 times: its status codes and latency (median, max), how many idle
   sockets were closed to make room, how many SMTP sessions were refused (421).

  python bench/faults.py [--cars 3000] [--hold 3] [--idle 1100]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mocks.servers.server import free_port, serving, wait_until_answering
from mocks.servers.smtp import SubmissionHandler
from mocks.state.service import MockService
from mocks.transport.guard import IDLE_SECONDS
from synthetic import Synthesizer

_START = "2026-11-23T09:00:00+00:00"


class _Sib(BaseHTTPRequestHandler):
    received: list[tuple[float, str]]

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self.received.append((time.monotonic(), self.headers["x-interop-message-id"]))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _cars(n: int) -> list[dict[str, Any]]:
    from datetime import datetime

    synth = Synthesizer(20)
    when = datetime.fromisoformat(_START)
    out = []
    for _ in range(n):
        booking = synth.booking("NC0920000", doa=when.date())
        out.append(synth.car(booking, tcn=synth.tcn("NC0920000", when.date()), gmt=when))
    return out


async def _health(http: httpx.AsyncClient) -> dict[str, Any]:
    answer: dict[str, Any] = (await http.get("/health")).json()
    return answer


async def _entries(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    after = 0
    while True:
        page = (await http.get("/admin/ledger", params={"channel": "sib", "after": after})).json()
        entries += page["entries"]
        if page["next"] is None:
            return entries
        after = page["next"]


async def _disk_burst(
    service: MockService, url: str, received: list[tuple[float, str]], cars: int, hold: float
) -> dict[str, Any]:
    todo = _cars(cars)
    refused: list[dict[str, Any]] = []
    answers: Counter[int] = Counter()
    full_at: list[float] = []
    posted = 0
    lock = asyncio.Lock()

    async with httpx.AsyncClient(base_url=url, timeout=60) as http:

        async def poster() -> None:
            nonlocal posted
            while todo:
                car = todo.pop()
                answer = await http.post("/cjis/submissions", json=car)
                answers[answer.status_code] += 1
                if answer.status_code == 503:
                    refused.append(car)
                    if not full_at:
                        full_at.append(time.monotonic())
                async with lock:
                    posted += 1
                    if posted == cars // 3:
                        pages = await service.ledger.cap_pages(None)
                        await service.ledger.cap_pages(pages + 64)

        await asyncio.gather(*(poster() for _ in range(16)))
        while not full_at:  # the burst ended before the disk filled: fill it with more
            todo.extend(_cars(50))
            await poster()
        while True:
            health = await _health(http)
            if health["status"] == "degraded" and health["outstanding_deliveries"] == 0:
                break
            await asyncio.sleep(0.01)
        before = len(received)
        held_from = time.monotonic()
        while time.monotonic() - held_from < hold:
            car = refused[0]
            answer = await http.post("/cjis/submissions", json=car)
            answers[answer.status_code] += 1
            await asyncio.sleep(0.05)
        while_full = len(received) - before
        smtp = await SubmissionHandler(service).handle_DATA(None, None, None)  # type: ignore[arg-type]
        health_full = await _health(http)
        freed = time.monotonic()
        await service.ledger.cap_pages(None)
        while (await _health(http))["status"] != "ok":
            await asyncio.sleep(0.005)
        recovered = time.monotonic() - freed
        for car in refused:
            while (answer := await http.post("/cjis/submissions", json=car)).status_code == 503:
                await asyncio.sleep(float(answer.headers.get("retry-after", "1")))
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            health = await _health(http)
            if health["deliveries"]["owed"] == 0 and health["pending_timers"] == 0:
                break
            await asyncio.sleep(0.2)
        entries = await _entries(http)
    ids = Counter(message_id for _, message_id in received)
    owed = {e["id"] for e in entries}
    return {
        "cars": cars,
        "answers": dict(sorted(answers.items())),
        "posts_while_full": while_full,
        "smtp_while_full": smtp.split(" ", 2)[:2],
        "health_while_full": {
            k: health_full[k] for k in ("status", "degraded", "pending_timers", "deliveries")
        },
        "deliveries": len(owed),
        "lost": len(owed - set(ids)),
        "duplicates": sum(n - 1 for n in ids.values()),
        "most_posts_of_one": max(ids.values(), default=0),
        "not_delivered": sum(1 for e in entries if e["delivery"]["state"] != "delivered"),
        "recovered_s": round(recovered, 3),
        "recorded_late": health["deliveries"].get("recorded_late"),
    }


def probe_disk(cars: int, hold: float) -> dict[str, Any]:
    """Probe 1: the ledger's disk fills during a burst with the SIB's callback up."""
    received: list[tuple[float, str]] = []
    sib_port = free_port()
    handler = type("Sib", (_Sib,), {"received": received})
    httpd = ThreadingHTTPServer(("127.0.0.1", sib_port), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    lines = _Lines()
    logging.getLogger("interop").addHandler(lines)
    logging.getLogger("interop").setLevel(logging.INFO)
    try:
        with tempfile.TemporaryDirectory() as folder:
            service = MockService(
                clock="scaled:36000",
                ledger=Path(folder) / "ledger.sqlite3",
                callback=f"http://127.0.0.1:{sib_port}/cjis/responses",
            )
            with serving(service) as url:
                figures = asyncio.run(_disk_burst(service, url, received, cars, hold))
    finally:
        httpd.shutdown()
        httpd.server_close()
        logging.getLogger("interop").removeHandler(lines)
    figures["log_lines"] = len(lines.lines)
    figures["log"] = lines.lines[:6]
    return figures


def _limit_nofile() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))


def _get_status(port: int, path: str) -> int:
    """The status of a GET on a new connection (0: no answer)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            request = f"GET {path} HTTP/1.1\r\nhost: mocks\r\nconnection: close\r\n\r\n"
            sock.sendall(request.encode())
            head = sock.recv(64)
    except OSError:
        return 0
    return int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/1.1 ") else 0


def _closed(socks: list[socket.socket]) -> int:
    """How many of `socks` the server closed."""
    closed = 0
    for sock in socks:
        sock.settimeout(0.001)
        try:
            if sock.recv(1) == b"":
                closed += 1
        except TimeoutError:
            pass
        except OSError:
            closed += 1
    return closed


def probe_idle(count: int) -> dict[str, Any]:
    """Probe 2: idle HTTP and SMTP sockets against a child whose `nofile` is 1,024."""
    port, smtp_port = free_port(), free_port()
    command = [sys.executable, "-m", "interop", "serve", "--port", str(port)]
    command += ["--clock", "manual", "--smtp-port", str(smtp_port)]
    child = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_limit_nofile,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    http: list[socket.socket] = []
    smtp: list[socket.socket] = []
    try:
        wait_until_answering(f"http://127.0.0.1:{port}/health")
        for _ in range(count):
            http.append(socket.create_connection(("127.0.0.1", port), timeout=10))
        for _ in range(count):
            smtp.append(socket.create_connection(("127.0.0.1", smtp_port), timeout=10))
        statuses: Counter[int] = Counter()
        took: list[float] = []
        for _ in range(200):
            began = time.perf_counter()
            statuses[_get_status(port, "/health")] += 1
            took.append((time.perf_counter() - began) * 1000)
        evicted = _closed(http)
        refused_smtp = 0
        for sock in smtp:
            sock.settimeout(2)
            try:
                if sock.recv(64).startswith(b"421"):
                    refused_smtp += 1
            except OSError:
                pass
        time.sleep(IDLE_SECONDS + 1)
        idle_closed = _closed(http)
        return {
            "idle_http": count,
            "idle_smtp": count,
            "health_status": dict(statuses),
            "health_ms_median": round(statistics.median(took), 2),
            "health_ms_max": round(max(took), 2),
            "idle_http_closed_for_room": evicted,
            f"idle_http_closed_after_{IDLE_SECONDS:g}_s": idle_closed,
            "smtp_refused_421": refused_smtp,
        }
    finally:
        for sock in http + smtp:
            sock.close()
        _stop(child)


def _stop(child: subprocess.Popen[bytes]) -> None:
    """Stop a child server: SIGTERM, then SIGKILL after 20 s."""
    child.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        child.wait(timeout=20)
    if child.returncode is None:
        child.kill()
        child.wait()


def _rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def _wide_mail(parts: int) -> bytes:
    """An e-mail of `parts` tiny MIME parts (about 36 bytes each), built as bytes."""
    boundary = b"b0undary"
    body = b"".join(
        b"--" + boundary + b"\r\nContent-Type: text/plain\r\n\r\np%d\r\n" % k for k in range(parts)
    )
    head = (
        b"From: sib@state.example\r\nTo: cjis@mocks.example\r\nSubject: parts\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="' + boundary + b'"\r\n\r\n'
    )
    return head + body + b"--" + boundary + b"--\r\n"


def probe_mail_and_post(parts: int, post_mb: int) -> dict[str, Any]:
    """Probes 3 and 4: a 100k-part mail against /health latency; a 300 MB inbox post against
    RSS; both against one `interop serve --smtp-port` child."""
    import smtplib

    port, smtp_port = free_port(), free_port()
    command = [sys.executable, "-m", "interop", "serve", "--port", str(port)]
    command += ["--clock", "manual", "--smtp-port", str(smtp_port)]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_answering(f"http://127.0.0.1:{port}/health")
        mail = _wide_mail(parts)
        reply: list[str] = []

        def send() -> None:
            with smtplib.SMTP("127.0.0.1", smtp_port, timeout=300) as client:
                try:
                    client.sendmail("sib@state.example", ["cjis@mocks.example"], mail)
                    reply.append("250")
                except smtplib.SMTPResponseException as refused:
                    said = refused.smtp_error
                    text = said.decode() if isinstance(said, bytes) else str(said)
                    reply.append(f"{refused.smtp_code} {text}"[:120])

        sender = threading.Thread(target=send)
        took: list[float] = []
        sender.start()
        began = time.monotonic()
        while sender.is_alive() or time.monotonic() - began < 1.0:
            start = time.perf_counter()
            _get_status(port, "/health")
            took.append((time.perf_counter() - start) * 1000)
        sender.join()
        took.sort()
        mail_figures = {
            "mail_bytes": len(mail),
            "mime_parts": parts,
            "smtp_reply": reply[0] if reply else None,
            "health_requests": len(took),
            "health_ms_p50": round(took[len(took) // 2], 2),
            "health_ms_p99": round(took[int(len(took) * 0.99)], 2),
            "health_ms_max": round(took[-1], 2),
        }
        before, peak_before = _rss_mb(child.pid), _rss_mb(child.pid, "VmHWM")
        sent = 0
        answer = b""
        with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
            head = "POST /lea/NC0920000/inbox HTTP/1.1\r\nhost: mocks\r\n"
            head += "content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
            sock.sendall(head.encode())
            chunk = b"[" + b"1," * (512 * 1024)
            frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
            try:
                while sent < post_mb << 20:
                    sock.sendall(frame)
                    sent += len(chunk)
            except OSError:
                pass
            with contextlib.suppress(OSError):
                while part := sock.recv(65536):
                    answer += part
        post_figures = {
            "post_mb": post_mb,
            "sent_mb_before_closed": round(sent / (1 << 20), 1),
            "answer": answer.split(b"\r\n", 1)[0].decode(errors="replace"),
            "rss_mb_before": before,
            "rss_mb_after": _rss_mb(child.pid),
            "peak_rss_mb_before": peak_before,
            "peak_rss_mb_after": _rss_mb(child.pid, "VmHWM"),
        }
        return {"mail": mail_figures, "post": post_figures}
    finally:
        _stop(child)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cars", type=int, default=3000, help="CARs in the burst")
    parser.add_argument("--hold", type=float, default=3.0, help="seconds the disk stays full")
    parser.add_argument("--idle", type=int, default=1100, help="idle HTTP and SMTP sockets")
    parser.add_argument("--parts", type=int, default=100_000, help="MIME parts in the mail")
    parser.add_argument("--post-mb", type=int, default=300, help="MB posted to an inbox")
    args = parser.parse_args(argv)
    print("1. full disk during a burst:", json.dumps(probe_disk(args.cars, args.hold), indent=1))
    print("2. idle sockets:", json.dumps(probe_idle(args.idle), indent=1))
    hostile = probe_mail_and_post(args.parts, args.post_mb)
    print("3. a mail of many parts:", json.dumps(hostile["mail"], indent=1))
    print("4. a huge inbox post:", json.dumps(hostile["post"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
