#!/usr/bin/env python3
"""Connect to HOST PORT from SOURCE every INTERVAL seconds until STOPFILE exists.

usage: pace.py HOST PORT SOURCE INTERVAL STOPFILE [TIMEOUT]
Prints "ok=N failed=M seconds=S" at the end. A rate-limited client (INTERVAL
shorter than the limit's) counts how many connections the limit let
through; an honest one (INTERVAL longer) shows that none was dropped. A
dropped SYN shows as a connection not answered within TIMEOUT (default 0.5 s,
before the kernel's first SYN retransmission).
"""
import os
import socket
import sys
import time


def main():
    host, port, source = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    interval, stopfile = float(sys.argv[4]), sys.argv[5]
    timeout = float(sys.argv[6]) if len(sys.argv) > 6 else 0.5
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    ok = failed = 0
    start = time.time()
    deadline = start + 120  # bounded even if nobody creates STOPFILE
    while not os.path.exists(stopfile) and time.time() < deadline:
        began = time.time()
        try:
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                sock.settimeout(timeout)
                sock.bind((source, 0))
                sock.connect((host, port))
                if sock.recv(64).startswith(b"hello"):
                    ok += 1
                else:
                    failed += 1
        except OSError:
            failed += 1
        time.sleep(max(0.0, interval - (time.time() - began)))
    print("ok=%d failed=%d seconds=%.1f" % (ok, failed, time.time() - start), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
