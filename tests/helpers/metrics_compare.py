#!/usr/bin/env python3
"""Compare a Prometheus exposition with stats --json of the same moment.

usage: metrics_compare.py METRICS_FILE STATS_JSON_FILE IFACE
Prints every mismatch; exit 0 when the counters agree, 1 when not.
"""
import json
import re
import sys

SAMPLE = re.compile(r'^([a-z_]+)\{(.*)\} (\S+)$')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse(path, iface):
    samples = {}
    for line in open(path):
        m = SAMPLE.match(line.strip())
        if not m:
            continue
        labels = dict(LABEL.findall(m.group(2)))
        if labels.pop("interface", None) != iface:
            continue
        samples[(m.group(1), tuple(sorted(labels.items())))] = float(m.group(3))
    return samples


def main():
    metrics = parse(sys.argv[1], sys.argv[3])
    stats = json.load(open(sys.argv[2]))
    want = {}
    for verdict in ("pass", "drop"):
        want[("portcullis_packets_total", (("verdict", verdict),))] = stats["totals"][verdict + "_packets"]
        want[("portcullis_bytes_total", (("verdict", verdict),))] = stats["totals"][verdict + "_bytes"]
    for reason, value in stats["drops"].items():
        want[("portcullis_drops_total", (("reason", reason),))] = value
    exported = {(dict(k[1])["proto"], dict(k[1])["port"]) for k in metrics if k[0] == "portcullis_port_packets_total"}
    for row in stats["ports"]:
        key = (row["proto"], str(row["port"]))
        if key not in exported:
            continue
        for verdict in ("pass", "drop"):
            labels = (("port", key[1]), ("proto", key[0]), ("verdict", verdict))
            want[("portcullis_port_packets_total", labels)] = row[verdict + "_packets"]
            want[("portcullis_port_bytes_total", labels)] = row[verdict + "_bytes"]
    if "bans" in stats:
        # The ban series are by reason; stats --json has the totals.
        for name in ("portcullis_banned_sources", "portcullis_bans_total"):
            metrics[(name, ())] = sum(v for k, v in metrics.items() if k[0] == name and k[1])
        want[("portcullis_banned_sources", ())] = stats["bans"]["active"]
        want[("portcullis_bans_total", ())] = stats["bans"]["total"]
    bad = 0
    for key, value in sorted(want.items()):
        got = metrics.get(key)
        if got != value:
            print("%s%s: metrics %s, stats --json %s" % (key[0], dict(key[1]), got, value))
            bad += 1
    print("%d values compared, %d differ" % (len(want), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
