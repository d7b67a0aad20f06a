#!/usr/bin/env python3
"""Raft entries committed so far by the streams whose name starts with PREFIX, each group
counted once (at its leader), read from the nats-servers' monitoring endpoints: what
replication costs, as the servers count it.
    bench/raft_entries.py MONITOR[,MONITOR...] PREFIX      -> prints one integer"""
import json
import sys
import urllib.request


def get(url):
    return json.load(urllib.request.urlopen(url, timeout=5))


def main():
    monitors, prefix = sys.argv[1].split(","), sys.argv[2]
    groups = set()
    for m in monitors:
        for account in get(m + "/jsz?accounts=true&streams=true").get("account_details", []):
            for stream in account.get("stream_detail", []):
                group = stream.get("cluster", {}).get("raft_group")
                if stream["name"].startswith(prefix) and group:
                    groups.add((account["name"], group))
    total = 0
    for m in monitors:
        for account in {a for a, _ in groups}:
            for name, g in get(m + "/raftz?acc=" + account).get(account, {}).items():
                if (account, name) in groups and g.get("state") == "LEADER":
                    total += g.get("committed", 0)
    print(total)


if __name__ == "__main__":
    main()
