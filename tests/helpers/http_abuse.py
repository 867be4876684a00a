#!/usr/bin/env python3
"""Misbehaving HTTP clients for the exporter tests. Every loop is bounded in
count and time; the host is whatever the test passes (loopback in the lab).

usage: http_abuse.py parallel HOST PORT N     N connections at once, each GET /metrics;
                                             prints "ok=K failed=F"
       http_abuse.py slow HOST PORT N SECS    N clients that each trickle a header line a
                                             second for SECS and connect again when the
                                             server closes them; prints "started", then
                                             "connections=C closed=K longest=L" (seconds
                                             the longest connection was held)
       http_abuse.py idle HOST PORT SECS      one connection that sends nothing; prints
                                             how many seconds until the server closed
                                             it, or "open" after SECS
       http_abuse.py trickle HOST PORT SECS   the same for a connection that sends a
                                             request line, then a header line a second
       http_abuse.py send HOST PORT TEXT      send TEXT (Python escapes: \\r\\n) and print
                                             the status line of the answer, or "closed
                                             after S s" when there was none
"""
import select
import socket
import sys
import threading
import time

REQUEST_LINE = b"GET /metrics HTTP/1.1\r\nHost: x\r\n"


def get(host, port, results, start):
    start.wait()
    try:
        with socket.create_connection((host, port), timeout=10) as sock:
            sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        results.append(data.startswith(b"HTTP/1.1 200"))
    except OSError:
        results.append(False)


def parallel(host, port, n):
    results, start = [], threading.Event()
    threads = [threading.Thread(target=get, args=(host, port, results, start)) for _ in range(n)]
    for t in threads:
        t.start()
    start.set()
    for t in threads:
        t.join(30)
    ok = sum(results)
    print("ok=%d failed=%d" % (ok, n - ok))


def closed_by_server(sock):
    """True when the server has answered or closed SOCK (it answers an
    unfinished request only as it closes it); never blocks."""
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


def hold(host, port, until, every):
    """One connection: the request line, then (every > 0) a header line
    each EVERY seconds until the server closes it or UNTIL (monotonic).
    Returns (seconds held, closed by the server)."""
    began = time.monotonic()
    try:
        with socket.create_connection((host, port), timeout=5) as sock:
            if every:
                sock.sendall(REQUEST_LINE)
            n = 0
            while time.monotonic() < until:
                time.sleep(min(every or 0.1, max(0.0, until - time.monotonic())))
                if closed_by_server(sock):
                    return time.monotonic() - began, True
                if every:
                    n += 1
                    sock.sendall(b"X-Slow-%d: %d\r\n" % (n, n))
    except OSError:
        return time.monotonic() - began, True
    return time.monotonic() - began, False


def slow_client(host, port, until, stats, lock):
    while time.monotonic() < until:
        held, closed = hold(host, port, until, 1.0)
        with lock:
            stats["connections"] += 1
            stats["closed"] += closed
            stats["longest"] = max(stats["longest"], held)
        if closed:
            time.sleep(0.2)  # then connect again, as an attacker would


def slow(host, port, n, seconds):
    until = time.monotonic() + seconds
    stats, lock = {"connections": 0, "closed": 0, "longest": 0.0}, threading.Lock()
    threads = [threading.Thread(target=slow_client, args=(host, port, until, stats, lock))
               for _ in range(n)]
    for t in threads:
        t.start()
    print("started", flush=True)
    for t in threads:
        t.join(seconds + 30)
    print("connections=%d closed=%d longest=%.1f" %
          (stats["connections"], stats["closed"], stats["longest"]), flush=True)


def held_until_closed(host, port, seconds, every):
    held, closed = hold(host, port, time.monotonic() + seconds, every)
    print("%.1f" % held if closed else "open")


def send(host, port, text):
    payload = text.encode().decode("unicode_escape").encode("latin-1")
    began = time.monotonic()
    with socket.create_connection((host, port), timeout=15) as sock:
        try:
            sock.sendall(payload)
            answer = sock.recv(4096)
        except OSError:
            answer = b""
    if answer:
        print(answer.split(b"\r\n")[0].decode("latin-1"))
    else:
        print("closed after %.1f s" % (time.monotonic() - began))


def main():
    what, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if what == "parallel":
        parallel(host, port, int(sys.argv[4]))
    elif what == "slow":
        slow(host, port, int(sys.argv[4]), float(sys.argv[5]))
    elif what == "idle":
        held_until_closed(host, port, float(sys.argv[4]), 0)
    elif what == "trickle":
        held_until_closed(host, port, float(sys.argv[4]), 1.0)
    elif what == "send":
        send(host, port, sys.argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
