#!/usr/bin/env python3
"""Test sink: records every datagram that reaches a UDP or UDP-Lite port.

usage: sink.py udp:9999 udplite:7000 ...
Binds to :: with IPv4 mapped (one socket serves both families), prints
"ready" once every port is bound, then one line per datagram received,
"udp/9999 from ADDR", and never answers: an attack test counts the lines to
see whether anything got past the filter. Runs until killed.
"""
import selectors
import socket
import sys

KINDS = {"udp": socket.IPPROTO_UDP, "udplite": 136}


def main():
    sel = selectors.DefaultSelector()
    for spec in sys.argv[1:]:
        kind, port = spec.split(":")
        sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM, KINDS[kind])
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(("::", int(port)))
        sel.register(sock, selectors.EVENT_READ, spec.replace(":", "/"))
    print("ready", flush=True)
    while True:
        for key, _ in sel.select():
            try:
                _, peer = key.fileobj.recvfrom(2048)
            except OSError:
                continue
            print("%s from %s" % (key.data, peer[0]), flush=True)


if __name__ == "__main__":
    main()
