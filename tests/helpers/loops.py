#!/usr/bin/env python3
"""loops.py HOST SECONDS: for SECONDS, connect to HOST tcp/22 in a loop and probe
tcp/8080 in another; print how many connections were made or lost and how many
probes were answered (a RST is an answer)."""
import socket, sys, threading, time
host, seconds = sys.argv[1], float(sys.argv[2])
end = time.time() + seconds
counts = {"ok": 0, "lost": 0, "answered": 0, "probes": 0}

def attempt(port, timeout):
    with socket.socket() as sock:
        sock.settimeout(timeout)
        try:
            sock.connect((host, port))
            return sock.recv(64).startswith(b"hello") or True
        except ConnectionRefusedError:
            return True  # a RST is an answer too
        except OSError:
            return False

def allowed():
    while time.time() < end:
        counts["ok" if attempt(22, 2.0) else "lost"] += 1
        time.sleep(0.02)

def closed():
    while time.time() < end:
        counts["probes"] += 1
        counts["answered"] += attempt(8080, 0.1)

threads = [threading.Thread(target=allowed), threading.Thread(target=closed)]
for t in threads: t.start()
for t in threads: t.join()
print("ok=%(ok)d lost=%(lost)d probes=%(probes)d answered=%(answered)d" % counts)
