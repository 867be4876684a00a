#!/usr/bin/env python3
"""A stand-in for systemd's notify socket.

usage: notify_listen.py SOCKET_PATH OUT_FILE
Binds a unix datagram socket at SOCKET_PATH, prints "ready", and appends
every message it receives to OUT_FILE, newlines as " | ", one message a line.
"""
import os
import socket
import sys


def main():
    path, out = sys.argv[1], sys.argv[2]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if os.path.exists(path):
        os.unlink(path)
    sock.bind(path)
    print("ready", flush=True)
    while True:
        data = sock.recv(4096).decode(errors="replace").strip()
        with open(out, "a") as f:
            f.write(data.replace("\n", " | ") + "\n")


if __name__ == "__main__":
    main()
