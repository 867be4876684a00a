#!/usr/bin/env python3
"""Connect to HOST PORT over and over until STOPFILE exists; report failures.

usage: hammer.py HOST PORT STOPFILE [SOURCE INTERVAL [TIMEOUT]]
Prints "ok=N failed=M seconds=S" at the end; exit 0 only if none failed. Used
to show that rule changes never drop a connection to a port that stays
allowed. With SOURCE and INTERVAL it connects from SOURCE once every
INTERVAL seconds, a dropped SYN showing as no answer within TIMEOUT (default
0.5 s, before the kernel's first SYN retransmission): a client at a
rate-limited port counts how many connections the limit let through, an
honest one shows that none was dropped.
"""
import os
import socket
import sys
import time


def main():
    host, port, stopfile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    source = (sys.argv[4], 0) if len(sys.argv) > 4 else None
    interval = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
    timeout = float(sys.argv[6]) if len(sys.argv) > 6 else (0.5 if source else 2.0)
    ok = failed = 0
    start = time.time()
    deadline = start + 120  # bounded even if nobody creates STOPFILE
    while not os.path.exists(stopfile) and time.time() < deadline:
        began = time.time()
        try:
            with socket.create_connection((host, port), timeout=timeout,
                                          source_address=source) as sock:
                if sock.recv(64).startswith(b"hello"):
                    ok += 1
                else:
                    failed += 1
        except OSError:
            failed += 1
        time.sleep(max(0.0, interval - (time.time() - began)))
    print("ok=%d failed=%d seconds=%.1f" % (ok, failed, time.time() - start), flush=True)
    return 0 if failed == 0 and ok > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
