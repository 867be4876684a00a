#!/usr/bin/env python3
"""Misbehaving HTTP clients for the exporter tests.

usage: http_abuse.py parallel HOST PORT N     N connections at once, each GET /metrics;
                                             prints "ok=K failed=F"
       http_abuse.py slow HOST PORT N SECS    N clients trickling one header byte a
                                             second for SECS; prints "started" then
                                             "done"
       http_abuse.py idle HOST PORT SECS      one connection that sends nothing; prints
                                             how many seconds until the server closed
                                             it, or "open" after SECS
"""
import socket
import sys
import threading
import time


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


def trickle(host, port, seconds):
    try:
        with socket.create_connection((host, port), timeout=5) as sock:
            sock.sendall(b"GET /metrics HTTP/1.1\r\n")
            for _ in range(int(seconds)):
                sock.sendall(b"X")
                time.sleep(1)
    except OSError:
        pass


def slow(host, port, n, seconds):
    threads = [threading.Thread(target=trickle, args=(host, port, seconds)) for _ in range(n)]
    for t in threads:
        t.start()
    print("started", flush=True)
    for t in threads:
        t.join()
    print("done", flush=True)


def idle(host, port, seconds):
    began = time.monotonic()
    with socket.create_connection((host, port), timeout=seconds) as sock:
        try:
            if sock.recv(1) == b"":
                print("%.1f" % (time.monotonic() - began))
                return
        except socket.timeout:
            pass
        except OSError:
            print("%.1f" % (time.monotonic() - began))
            return
    print("open")


def main():
    what, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if what == "parallel":
        parallel(host, port, int(sys.argv[4]))
    elif what == "slow":
        slow(host, port, int(sys.argv[4]), float(sys.argv[5]))
    elif what == "idle":
        idle(host, port, float(sys.argv[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
