#!/usr/bin/env python3
"""Test client: can we talk to PROTO HOST PORT?

usage: probe.py tcp|udp HOST PORT [TIMEOUT [SOURCE]]
Exit 0 and print the answer when the listener replied, 1 when not (refused,
timed out, or dropped). UDP uses a connected socket, which is also what the
"established socket" policy must recognise on the way back. SOURCE binds
the client to one of its addresses, to test per-source rules.
"""
import socket
import sys


def main():
    proto, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 1.0
    source = sys.argv[5] if len(sys.argv) > 5 else None
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    with socket.socket(family, kind) as sock:
        sock.settimeout(timeout)
        try:
            if source:
                sock.bind((source, 0))
            sock.connect((host, port))
            if proto == "udp":
                sock.send(b"ping\n")
            answer = sock.recv(128)
        except OSError as err:
            print("no answer: %s" % err)
            return 1
    print(answer.decode(errors="replace").strip())
    return 0 if answer.startswith(b"hello") else 1


if __name__ == "__main__":
    sys.exit(main())
