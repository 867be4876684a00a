#!/usr/bin/env python3
"""Test listener: answers on TCP and UDP ports until killed.

usage: listen.py tcp:22 udp:53 ...
Every TCP connection gets "hello tcp/PORT\\n" and is closed; every UDP
datagram is answered with "hello udp/PORT\\n". Binds to :: with IPv4 mapped,
so one socket serves both families. Prints "ready" once every port is bound.
"""
import selectors
import socket
import sys


def bind(kind, port):
    sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("::", port))
    if kind == "tcp":
        sock.listen(128)
    sock.setblocking(False)
    return sock


def main():
    sel = selectors.DefaultSelector()
    for spec in sys.argv[1:]:
        kind, port = spec.split(":")
        sel.register(bind(kind, int(port)), selectors.EVENT_READ, (kind, int(port)))
    print("ready", flush=True)
    while True:
        for key, _ in sel.select():
            kind, port = key.data
            try:
                if kind == "tcp":
                    conn, _ = key.fileobj.accept()
                    conn.sendall(b"hello tcp/%d\n" % port)
                    conn.close()
                else:
                    _, peer = key.fileobj.recvfrom(2048)
                    key.fileobj.sendto(b"hello udp/%d\n" % port, peer)
            except OSError:
                pass


if __name__ == "__main__":
    main()
