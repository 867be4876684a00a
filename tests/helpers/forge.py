#!/usr/bin/env python3
"""Forge frames from any source and put them on the wire: the attacker of the
attack tests (tests/integration/attacks-*.sh).

usage: forge.py IFACE DST_MAC send --src ADDR --dst ADDR --proto P [options]
       forge.py IFACE DST_MAC scan-flood --first ADDR --sources N --dst ADDR [options]

Frames are built here (Ethernet, IPv4 or IPv6, then TCP, UDP, UDP-Lite,
SCTP, DCCP, GRE or any protocol number) and sent on an AF_PACKET socket
bound to IFACE, so the source address is whatever the test says: an address
of another host, an IPv4-mapped IPv6 address, a pool of 100,000 spoofed
scanners. Only the standard library: the flood needs the speed, and the
tests need no extra package.

send: one frame per destination port in --ports (--repeat times each), e.g.
  forge.py veth0 02:..:01 send --src 198.18.0.3 --dst 198.18.0.1 --proto tcp \
      --flags S --ports 3000-3029
  --ext hbh,frag,dstopts puts those IPv6 extension headers, in that order,
  before the L4 header (frag: an atomic fragment, offset 0, no more).

scan-flood: --sources consecutive addresses from --first, each sending SYNs
to --ports-per-source consecutive ports from --dport, one source after the
other (a quick scan each). Prints "sent N frames in S s".
"""
import argparse
import ipaddress
import socket
import struct
import sys
import time

PROTOS = {"tcp": 6, "udp": 17, "udplite": 136, "sctp": 132, "dccp": 33, "gre": 47, "ipip": 4}
TCP_FLAGS = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, "A": 0x10, "U": 0x20, "E": 0x40, "C": 0x80}


def checksum(data):
    """The Internet checksum (RFC 1071) of DATA."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def pseudo_header(src, dst, proto, length):
    if src.version == 4:
        return src.packed + dst.packed + struct.pack("!BBH", 0, proto, length)
    return src.packed + dst.packed + struct.pack("!IxxxB", length, proto)


def ip_header(src, dst, proto, payload_len, ext=(b"", None)):
    """IPv4 header (with its checksum) or IPv6 header plus EXT = (bytes, first header)."""
    if src.version == 4:
        head = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + payload_len, 0x1234, 0x4000, 64,
                           proto, 0, src.packed, dst.packed)
        return head[:10] + struct.pack("!H", checksum(head)) + head[12:]
    chain, first = ext
    return struct.pack("!IHBB16s16s", 0x60000000, len(chain) + payload_len,
                       proto if first is None else first, 64, src.packed, dst.packed) + chain


EXT_HEADERS = {"hbh": 0, "frag": 44, "dstopts": 60}


def extension_chain(names, proto):
    """IPv6 extension headers NAMES (comma list) before PROTO: (bytes, first header)."""
    chain, next_header = b"", proto
    for name in reversed(names.split(",") if names else []):
        if name == "frag":
            header = struct.pack("!BBHI", next_header, 0, 0, 0x1234)
        else:  # options header: 8 bytes, one PadN option
            header = struct.pack("!BBBB4x", next_header, 0, 1, 4)
        chain, next_header = header + chain, EXT_HEADERS[name]
    return chain, (next_header if chain else None)


def l4_segment(args, src, dst, proto, dport):
    """The L4 header and payload for PROTO to DPORT, checksummed where it has one."""
    sport = args.sport
    if proto == 6:
        flags = 0
        for letter in args.flags:
            flags |= TCP_FLAGS[letter]
        seg = struct.pack("!HHIIBBHHH", sport, dport, 1000, 1 if flags & 0x10 else 0,
                          5 << 4, flags, 64240, 0, 0)
        csum = checksum(pseudo_header(src, dst, proto, len(seg)) + seg)
        return seg[:16] + struct.pack("!H", csum) + seg[18:]
    if proto in (17, 136):
        payload = args.payload.encode()
        # UDP-Lite: the length field is the checksum coverage, 0 = everything.
        length = 8 + len(payload)
        seg = struct.pack("!HHHH", sport, dport, length if proto == 17 else 0, 0) + payload
        csum = checksum(pseudo_header(src, dst, proto, length) + seg) or 0xFFFF
        return seg[:6] + struct.pack("!H", csum) + seg[8:]
    if proto == 132:
        # SCTP common header + INIT chunk; the CRC32c is left 0: the filter
        # judges the protocol, and a stack that checked it would drop it anyway.
        init = struct.pack("!BBHIIHHI", 1, 0, 20, 0x01020304, 65535, 1, 1, 1)
        return struct.pack("!HHII", sport, dport, 0, 0) + init
    if proto == 33:
        # DCCP-Request with a 48-bit sequence number (X=1).
        return struct.pack("!HHBBHBBHII", sport, dport, 5, 0, 0, 0x01, 0, 0, 1, 42)
    if proto == 47:
        # GRE carrying an IPv4/UDP packet from the outer source to DPORT.
        inner_src = ipaddress.ip_address("198.18.0.77")
        inner_dst = ipaddress.ip_address("198.18.0.1")
        udp = struct.pack("!HHHH", sport, dport, 8 + 5, 0) + b"inner"
        inner = ip_header(inner_src, inner_dst, 17, len(udp)) + udp
        return struct.pack("!HH", 0, 0x0800) + inner
    return args.payload.encode()


def parse_ports(text):
    ports = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        ports.extend(range(int(lo), int(hi or lo) + 1))
    return ports


def open_socket(iface):
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((iface, 0))
    return sock, sock.getsockname()[4]


def ethernet(dst_mac, src_mac, version):
    return bytes.fromhex(dst_mac.replace(":", "")) + src_mac + struct.pack(
        "!H", 0x0800 if version == 4 else 0x86DD)


def cmd_send(args, sock, src_mac):
    src, dst = ipaddress.ip_address(args.src), ipaddress.ip_address(args.dst)
    proto = PROTOS.get(args.proto) or int(args.proto)
    if src.version != dst.version:
        sys.exit("forge.py: --src and --dst are of different families")
    ext = extension_chain(args.ext, proto)
    eth = ethernet(args.dst_mac, src_mac, src.version)
    sent = 0
    for _ in range(args.repeat):
        for port in parse_ports(args.ports):
            seg = l4_segment(args, src, dst, proto, port)
            sock.send(eth + ip_header(src, dst, proto, len(seg), ext) + seg)
            sent += 1
            if args.gap:
                time.sleep(args.gap)
    print("sent %d frames" % sent)


def cmd_scan_flood(args, sock, src_mac):
    """SYNs from SOURCES consecutive IPv4 addresses, PORTS ports each."""
    first = int(ipaddress.IPv4Address(args.first))
    dst = ipaddress.IPv4Address(args.dst)
    if not ipaddress.IPv4Address(first + args.sources - 1) in ipaddress.ip_network("198.18.0.0/15"):
        sys.exit("forge.py: the pool leaves 198.18.0.0/15")
    frame = bytearray(ethernet(args.dst_mac, src_mac, 4) + ip_header(
        ipaddress.IPv4Address(first), dst, 6, 20) + bytes(20))
    struct.pack_into("!HHIIBBHHH", frame, 34, 40000, 0, 1000, 0, 5 << 4, 0x02, 64240, 0, 0)
    # Checksums are kept up to date by adding the words that change to the
    # sums of those that do not (the source address is zeroed in both).
    frame[24:30] = bytes(6)  # IP checksum and source address
    ip_base = sum(struct.unpack("!10H", bytes(frame[14:34])))
    tcp_base = sum(struct.unpack("!10H", bytes(frame[34:54]))) + sum(
        struct.unpack("!2H", dst.packed)) + 6 + 20

    def fold(total):
        total = (total & 0xFFFF) + (total >> 16)
        total = (total & 0xFFFF) + (total >> 16)
        return ~total & 0xFFFF

    sent = 0
    start = time.monotonic()
    deadline = start + args.max_seconds
    send = sock.send
    for index in range(args.sources):
        addr = first + index
        hi, lo = addr >> 16, addr & 0xFFFF
        struct.pack_into("!I", frame, 26, addr)
        struct.pack_into("!H", frame, 24, fold(ip_base + hi + lo))
        for k in range(args.ports_per_source):
            dport = args.dport + k
            struct.pack_into("!H", frame, 36, dport)
            struct.pack_into("!H", frame, 50, fold(tcp_base + hi + lo + dport))
            send(frame)
        sent += args.ports_per_source
        if index % 1000 == 999 and time.monotonic() > deadline:
            break
    elapsed = time.monotonic() - start
    print("sent %d frames from %d sources in %.1f s" % (sent, sent // args.ports_per_source,
                                                       elapsed), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("iface")
    parser.add_argument("dst_mac")
    sub = parser.add_subparsers(dest="command", required=True)
    send = sub.add_parser("send")
    send.add_argument("--src", required=True)
    send.add_argument("--dst", required=True)
    send.add_argument("--proto", default="tcp")
    send.add_argument("--ports", default="9")
    send.add_argument("--sport", type=int, default=40000)
    send.add_argument("--flags", default="S")
    send.add_argument("--payload", default="forged")
    send.add_argument("--ext", help="IPv6 extension headers: hbh,frag,dstopts")
    send.add_argument("--repeat", type=int, default=1)
    send.add_argument("--gap", type=float, default=0.0, help="seconds between frames")
    flood = sub.add_parser("scan-flood")
    flood.add_argument("--first", required=True)
    flood.add_argument("--sources", type=int, required=True)
    flood.add_argument("--dst", required=True)
    flood.add_argument("--dport", type=int, default=10000)
    flood.add_argument("--ports-per-source", type=int, default=6)
    flood.add_argument("--max-seconds", type=float, default=60.0)
    args = parser.parse_args()
    sock, src_mac = open_socket(args.iface)
    if args.command == "send":
        cmd_send(args, sock, src_mac)
    else:
        cmd_scan_flood(args, sock, src_mac)


if __name__ == "__main__":
    main()
