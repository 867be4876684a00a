#!/usr/bin/env python3
"""Connect to HOST PORT over and over until STOPFILE exists; report failures.

usage: hammer.py HOST PORT STOPFILE
Prints "ok=N failed=M" at the end; exit 0 only if none failed. Used to show
that rule changes never drop a connection to a port that stays allowed.
"""
import os
import socket
import sys
import time


def main():
    host, port, stopfile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    ok = failed = 0
    deadline = time.time() + 120  # bounded even if nobody creates STOPFILE
    while not os.path.exists(stopfile) and time.time() < deadline:
        try:
            with socket.create_connection((host, port), timeout=2) as sock:
                if sock.recv(64).startswith(b"hello"):
                    ok += 1
                else:
                    failed += 1
        except OSError:
            failed += 1
    print("ok=%d failed=%d" % (ok, failed), flush=True)
    return 0 if failed == 0 and ok > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
