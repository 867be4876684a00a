#!/usr/bin/env python3
"""Write a private copy of Debian's /etc/crowdsec/config.yaml for a test's Local API.

usage: crowdsec_config.py DIR LISTEN_ADDR:PORT
The copy runs the Local API only (crowdsec -c DIR/config.yaml -no-cs): no
Central API (the online_client block is left out), its own listen address,
data directory, database and client credentials under DIR, logs to stdout,
no Prometheus listener.
"""
import re
import sys

src = open("/etc/crowdsec/config.yaml").read()
d, listen = sys.argv[1], sys.argv[2]
out, skip = [], None
for line in src.splitlines():
    indent = len(line) - len(line.lstrip())
    if skip is not None:
        if line.strip() and indent > skip:
            continue
        skip = None
    if line.strip().startswith("online_client:"):
        skip = indent
        continue
    out.append(line)
text = "\n".join(out) + "\n"
for pattern, repl in (
    (r"daemonize: true", "daemonize: false"),
    (r"log_media: file", "log_media: stdout"),
    (r"data_dir: .*", "data_dir: %s/data/" % d),
    (r"db_path: .*", "db_path: %s/data/crowdsec.db" % d),
    (r"credentials_path: .*", "credentials_path: %s/cscli-creds.yaml" % d),
    (r"listen_uri: .*", "listen_uri: %s" % listen),
    (r"(prometheus:\n  enabled:) true", r"\1 false"),
):
    text, n = re.subn(pattern, repl, text)
    if not n and "prometheus" not in pattern:
        sys.exit("crowdsec_config.py: no '%s' in /etc/crowdsec/config.yaml" % pattern)
open(d + "/config.yaml", "w").write(text)
