#!/usr/bin/env python3
"""Polls the change feed while writes run and prints how long committed changes took to become
readable in it: for each event first seen, the time it was seen minus its `occurred_at` (the
service's clock when the write ran, before its commit), as p50/p99/max over the run.

    python3 bench/feed_lag.py http://127.0.0.1:18091 "$TOKEN" 10 [ready-file]

It first reads the feed to its end (however long that takes), then creates `ready-file` (if
given) and polls for the given seconds: start the writes once the file exists.
"""
import json
import sys
import time
import urllib.request
from datetime import datetime

base, token, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
ready = sys.argv[4] if len(sys.argv) > 4 else None


def page(cursor):
    url = f"{base}/api/v1/events?limit=500" + (f"&after={cursor}" if cursor else "")
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req) as res:
        return json.load(res)


# Start at the end of the feed: only events written while this runs count.
cursor = None
while True:
    body = page(cursor)
    cursor = body["next_cursor"]
    if not body["items"]:
        break

if ready:
    open(ready, "w").close()
lags = []
ids = set()
pages = []
end = time.time() + seconds
while time.time() < end:
    asked = time.time()
    body = page(cursor)
    seen = time.time()
    pages.append((seen - asked, len(body["items"])))
    for e in body["items"]:
        if e["sequence"] in ids:
            print(f"event {e['id']} seen twice", file=sys.stderr)
            sys.exit(1)
        ids.add(e["sequence"])
        at = datetime.fromisoformat(e["occurred_at"].replace("Z", "+00:00")).timestamp()
        lags.append(seen - at)
    cursor = body["next_cursor"]
    if not body["items"]:
        time.sleep(0.02)

lags.sort()
if not lags:
    print("feed lag: no events seen")
else:
    pick = lambda q: lags[min(len(lags) - 1, int(q * len(lags)))] * 1000
    print(f"feed lag over {len(lags)} events: p50 {pick(0.5):.0f} ms, p99 {pick(0.99):.0f} ms, max {lags[-1] * 1000:.0f} ms")
# What the poller's own reads cost: a lag far above one page's time means the reads fall behind.
took = sorted(t for t, _ in pages)
full = sum(1 for _, n in pages if n == 500)
print(f"{len(pages)} pages ({full} full), each took p50 {took[len(took) // 2] * 1000:.0f} ms, "
      f"max {took[-1] * 1000:.0f} ms")
