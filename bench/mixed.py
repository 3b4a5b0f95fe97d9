#!/usr/bin/env python3
"""The mixed-load scenario at bench scale (tests/api/mixed.rs is its small in-suite version).

Two `pactum serve` instances on one PostgreSQL database take concurrent writes on shared rows
from CONNECTIONS worker threads for DURATION seconds: contract creates, PATCHes on shared
contracts with and without If-Match, coverage added and changed on shared installations,
re-parenting inside one contract hierarchy, task completions, service calls and dossier
changes. Halfway through, instance A is SIGKILLed and started again 3 s later. Afterwards
(both instances up) the invariants are checked: no 5xx but 503 while A was down, every status
one its operation may answer, no overlapping coverage, no cycle, unique numbers, one event per
committed change and the feed listing each event exactly once.

Run by bench/mixed.sh, which prepares the database, the environment (DATABASE_URL, JWT_SECRET,
...) and the token. Standard library only. Prints a markdown report; exits 1 on any failure.
"""

import argparse
import datetime
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict

# Seconds after instance A answers /health/ready again during which a failed connection to it
# (or a 503) still counts as the outage: a worker may have been mid-way through a connect.
MARGIN = 2.0
# Seconds a request may take before it counts as hung (always a failure).
REQUEST_TIMEOUT = 30
# A started instance must answer /health/ready within this many seconds.
START_TIMEOUT = 60

# Every request the workers send, by kind, with the statuses it may answer. They follow
# tests/api/mixed.rs; where the bench picks rows at random, the answers a random pick can
# legitimately get are added: a coverage change on a pair not linked (yet) is a 404, an added
# link may exist already, and an added or changed period may overlap another link of the same
# type (409). A 503 is judged apart (allowed only while A is down), and so is a failed
# connection.
ALLOWED = {
    "create": {201},
    "patch": {200},
    "read for if-match": {200},
    "patch if-match": {200, 412},
    "coverage add": {201, 409},
    "coverage change": {200, 404, 409},
    "move": {200, 409},
    "complete": {200, 409},
    "service call": {201},
    "dossier change": {200},
}

# Shared fixtures: how many of each the workers contend on.
SHARED_CONTRACTS = 6  # PATCHed with and without If-Match; the first of the covering contracts
# Contracts that cover the shared installations, alternating between two contract types (links
# of different types may overlap). Enough (contract, installation) pairs that adds do not run
# out of pairs not linked yet within a run; the periods decide the races.
COVERING_CONTRACTS = 24
SHARED_INSTALLATIONS = 16
TREE_NODES = 8  # contracts below one root, moved about below each other
TASK_OBLIGATIONS = 4  # daily schedules: ~730 tasks each over a 24-month horizon
DOSSIERS = 4

# The covering contracts run 2026-01-01 .. 2027-12-31; coverage periods are 1 to 6 whole months
# in it, so an installation holds a few links of each type and adds keep meeting free months
# and taken ones.
COVERAGE_MONTHS = 24
LONGEST_PERIOD = 6
# Seconds a worker waits after a failed connection, as a client backs off, instead of spinning
# on a refused port while A is down.
BACKOFF = 0.1


class Unavailable(Exception):
    """The connection failed (refused, reset, closed mid-answer): the instance is not there."""


class Client:
    """One keep-alive HTTP connection to one instance, with the bearer token."""

    def __init__(self, port, token):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
        self.token = token

    def call(self, method, path, body=None, headers=None):
        """Sends one request; returns (status, lower-cased headers, body text). A failed connection
        raises Unavailable (TimeoutError for a hung request) after dropping the connection, so
        the next call opens a fresh one. Never retried here: a write may have committed."""
        h = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        data = None
        if body is not None:
            # bytes, so that http.client sends headers and body in one segment (no Nagle delay)
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        try:
            self.conn.request(method, path, body=data, headers=h)
            res = self.conn.getresponse()
            text = res.read().decode("utf-8", "replace")
        except TimeoutError:
            self.conn.close()
            raise
        except (OSError, http.client.HTTPException) as e:
            self.conn.close()
            raise Unavailable(repr(e)) from e
        return res.status, {k.lower(): v for k, v in res.getheaders()}, text


def psql(sql):
    """Rows of a query on DATABASE_URL, each a list of column strings."""
    out = subprocess.run(
        ["psql", os.environ["DATABASE_URL"], "-qtAc", sql], check=True, capture_output=True, text=True
    ).stdout
    return [line.split("|") for line in out.splitlines() if line]


class Instance:
    """One `pactum serve` process on its own port, logging to its own file in the work folder."""

    def __init__(self, name, binary, port, work):
        self.name, self.binary, self.port = name, binary, port
        self.log_path = os.path.join(work, f"instance-{name.lower()}.log")
        self.proc = None

    def start(self):
        env = dict(os.environ, BIND_ADDR=f"127.0.0.1:{self.port}")
        # Appending: the restarted instance's log follows the killed one's.
        with open(self.log_path, "a") as log:
            log.write(f"--- started at {datetime.datetime.now().isoformat()} ---\n")
            log.flush()
            self.proc = subprocess.Popen([self.binary, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)

    def wait_ready(self):
        """Polls /health/ready until it answers 200; returns the monotonic time it did."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                sys.exit(f"instance {self.name} exited with {self.proc.returncode}; see {self.log_path}")
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
            try:
                conn.request("GET", "/health/ready")
                if conn.getresponse().status == 200:
                    return time.monotonic()
            except (OSError, http.client.HTTPException):
                pass
            finally:
                conn.close()
            time.sleep(0.05)
        sys.exit(f"instance {self.name} not ready after {START_TIMEOUT} s; see {self.log_path}")

    def kill(self):
        self.proc.kill()  # SIGKILL: no graceful shutdown, in-flight requests die with it
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=35)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def expect(api, method, path, body, status):
    """A setup or check request that must answer `status`; returns the parsed body."""
    got, _, text = api.call(method, path, body)
    if got != status:
        sys.exit(f"setup: {method} {path} answered {got}, not {status}: {text}")
    return json.loads(text)


def everything(api, path, cursor_param):
    """Every item of a list, following next_cursor (as `cursor_param`) until an empty page or
    no cursor."""
    items, cursor = [], None
    while True:
        sep = "&" if "?" in path else "?"
        page = expect(api, "GET", path + (f"{sep}{cursor_param}={cursor}" if cursor else ""), None, 200)
        if not page["items"]:
            return items
        items.extend(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            return items


def month_start(m):
    """The first day of month `m` counted from 2026-01."""
    return datetime.date(2026 + m // 12, m % 12 + 1, 1)


def month_end(m):
    return month_start(m + 1) - datetime.timedelta(days=1)


def create_fixtures(api):
    """The rows the workers share, made through the API as a client would."""
    contract = {"customer_ref": "MIXED", "start_date": "2026-01-01", "term_months": 24, "status": "active"}
    fx = {}
    fx["covering"] = [
        expect(api, "POST", "/api/v1/contracts",
               dict(contract, title=f"Shared {n}", contract_type="mixed-" + "ab"[n % 2]), 201)["id"]
        for n in range(COVERING_CONTRACTS)
    ]
    fx["contracts"] = fx["covering"][:SHARED_CONTRACTS]
    # The links the workers have made (201s), for coverage changes to pick from; list.append
    # is atomic, so the workers share it without a lock.
    fx["links"] = []
    fx["installations"] = [
        expect(api, "POST", "/api/v1/installations",
               {"serial_number": f"MIXED-{n}", "name": f"Mixed lift {n}", "installation_type": "lift",
                "customer_ref": "MIXED"}, 201)["id"]
        for n in range(SHARED_INSTALLATIONS)
    ]
    # One hierarchy: a root that never moves and nodes below it that the workers move about
    # below each other (or back below the root).
    fx["root"] = expect(api, "POST", "/api/v1/contracts", dict(contract, title="Tree root", contract_type="mixed-tree"),
                        201)["id"]
    fx["nodes"] = [
        expect(api, "POST", "/api/v1/contracts",
               dict(contract, title=f"Tree node {n}", contract_type="mixed-tree", parent_id=fx["root"]), 201)["id"]
        for n in range(TREE_NODES)
    ]
    # Tasks to complete: daily obligations on an active contract running from today, each
    # generating its tasks up to its horizon when it is created (as in tests/api/tasks.rs).
    today = datetime.date.today().isoformat()
    holder = expect(api, "POST", "/api/v1/contracts",
                    dict(contract, title="Task holder", contract_type="mixed-tasks", start_date=today,
                         term_months=36), 201)
    fx["tasks"] = []
    for n in range(TASK_OBLIGATIONS):
        obligation = expect(api, "POST", f"/api/v1/contracts/{holder['id']}/obligations",
                            {"title": f"Daily check {n}", "kind": "preventive_maintenance",
                             "assignee": {"role": "crew"}, "schedule": {"rrule": "FREQ=DAILY"},
                             "horizon_months": 24}, 201)
        fx["tasks"] += [t["id"] for t in everything(api, f"/api/v1/tasks?limit=500&obligation_id={obligation['id']}",
                                                     "cursor")]
    if not fx["tasks"]:
        sys.exit("setup: the obligations generated no tasks")
    # Dossiers of a type whose rule starts a workflow on every address change (as in
    # tests/api/mixed.rs; keys of our own beside the seed's `mortgage`).
    expect(api, "POST", "/api/v1/workflows",
           {"key": "mixed_relocation", "name": "Relocation",
            "steps": [{"key": "contact", "name": "Contact", "due_in": "P5D"}]}, 201)
    expect(api, "POST", "/api/v1/dossier-types",
           {"key": "mixed_mortgage", "name": "Mixed mortgage", "default_owner": {"user": "olga"},
            "attributes": [{"key": "address", "label": "Address", "data_type": "text", "required": True}],
            "rules": [{"key": "relocation_on_move", "trigger": {"kind": "attribute_changed", "attribute": "address"},
                       "workflow": "mixed_relocation", "responsible": {"role": "mortgage-desk"}}]}, 201)
    fx["dossiers"] = [
        expect(api, "POST", "/api/v1/dossiers",
               {"type": "mixed_mortgage", "customer_ref": f"P-{n}", "attributes": {"address": f"Here {n}"}}, 201)["id"]
        for n in range(DOSSIERS)
    ]
    return fx


class Worker(threading.Thread):
    """One connection's worth of load: random operations, alternately against A and B."""

    def __init__(self, n, fx, ports, token, t0, end):
        super().__init__(daemon=True)
        self.n, self.fx, self.t0, self.end = n, fx, t0, end
        self.clients = {name: Client(port, token) for name, port in ports.items()}
        self.rnd = random.Random(n)  # each worker's picks are reproducible; their interleaving is not
        self.count = 0
        # (kind, instance, status or "unavailable"/"timeout", seconds since t0, key, detail)
        self.records = []

    def send(self, kind, inst, method, path, body=None, headers=None, key=None):
        """One request, recorded; returns (status, headers, text) or None when it failed."""
        self.count += 1
        try:
            status, hdrs, text = self.clients[inst].call(method, path, body, headers)
            got = (status, hdrs, text)
        except TimeoutError:
            status, got, text = "timeout", None, ""
        except Unavailable as e:
            status, got, text = "unavailable", None, str(e)
            time.sleep(BACKOFF)
        # The body is kept only for answers that may need explaining in the report.
        detail = "" if status in ALLOWED[kind] else f"{method} {path}: {text[:300]}"
        self.records.append((kind, inst, status, time.monotonic() - self.t0, key, detail))
        return got

    def run(self):
        ops = [self.create, self.patch, self.patch_if_match, self.coverage_add, self.coverage_change,
               self.move, self.complete, self.service_call, self.dossier_change]
        turn = 0
        while time.monotonic() < self.end:
            self.rnd.choice(ops)("AB"[turn % 2])
            turn += 1

    def tag(self):
        return f"{self.n}-{self.count}"

    def create(self, inst):
        self.send("create", inst, "POST", "/api/v1/contracts",
                  {"title": f"Mixed {self.tag()}", "contract_type": "maintenance", "customer_ref": "MIXED",
                   "start_date": "2026-01-01", "term_months": 12})

    def patch(self, inst):
        c = self.rnd.choice(self.fx["contracts"])
        self.send("patch", inst, "PATCH", f"/api/v1/contracts/{c}", {"title": f"Patched {self.tag()}"})

    def patch_if_match(self, inst):
        # Read, then write based on what was read: of the writers that read one version, at
        # most one may win (the others get 412). The key remembers which version it was.
        c = self.rnd.choice(self.fx["contracts"])
        got = self.send("read for if-match", inst, "GET", f"/api/v1/contracts/{c}")
        if got is None or got[0] != 200:
            return
        etag = got[1]["etag"]
        self.send("patch if-match", inst, "PATCH", f"/api/v1/contracts/{c}", {"title": f"Guarded {self.tag()}"},
                  {"If-Match": etag}, key=(c, etag))

    def period(self):
        first = self.rnd.randrange(COVERAGE_MONTHS)
        last = min(first + self.rnd.randrange(LONGEST_PERIOD), COVERAGE_MONTHS - 1)
        return {"valid_from": month_start(first).isoformat(), "valid_to": month_end(last).isoformat()}

    def pair(self):
        return self.rnd.choice(self.fx["covering"]), self.rnd.choice(self.fx["installations"])

    def coverage_add(self, inst):
        c, i = self.pair()
        got = self.send("coverage add", inst, "POST", f"/api/v1/contracts/{c}/installations",
                        {"installations": [dict(self.period(), installation_id=i)]})
        if got and got[0] == 201:
            self.fx["links"].append((c, i))

    def coverage_change(self, inst):
        # A link some worker made, so that most changes meet a link (until the first exists: any pair).
        links = self.fx["links"]
        c, i = self.rnd.choice(links) if links else self.pair()
        self.send("coverage change", inst, "PATCH", f"/api/v1/contracts/{c}/installations/{i}", self.period())

    def move(self, inst):
        node = self.rnd.choice(self.fx["nodes"])
        parent = self.rnd.choice([p for p in self.fx["nodes"] + [self.fx["root"]] if p != node])
        self.send("move", inst, "PATCH", f"/api/v1/contracts/{node}", {"parent_id": parent})

    def complete(self, inst):
        # Tasks are picked with replacement: some are completed twice, and only one may win.
        t = self.rnd.choice(self.fx["tasks"])
        self.send("complete", inst, "POST", f"/api/v1/tasks/{t}/complete", {}, key=t)

    def service_call(self, inst):
        i = self.rnd.choice(self.fx["installations"])
        self.send("service call", inst, "POST", "/api/v1/service-calls",
                  {"installation_id": i, "priority": "high", "description": f"Call {self.tag()}"})

    def dossier_change(self, inst):
        d = self.rnd.choice(self.fx["dossiers"])
        self.send("dossier change", inst, "PATCH", f"/api/v1/dossiers/{d}",
                  {"attributes": {"address": f"Street {self.tag()}"}})


# The resources whose every change must leave exactly one event (as tests/api/mixed.rs
# checks): entity_type in the event log -> table.
VERSIONED = {"contract": "contracts", "coverage": "coverages", "dossier": "dossiers"}


def versions_and_events():
    """(entity_type, id) -> (version, events in the log) for every versioned row. Taken before
    the run as the baseline: seeded rows carry no history events, so only what changed since
    counts. Versions and event counts are read apart and joined here: the seed's ANALYZE saw an
    almost empty event log (and with autovacuum off, as on the bench server, nothing analyzes it
    again), and a correlated count planned on those statistics took 25 s after a 60 s run."""
    kinds = ", ".join(f"'{kind}'" for kind in VERSIONED)
    events = {(kind, id_): int(n) for kind, id_, n in
              psql(f"SELECT entity_type, entity_id, count(*) FROM events WHERE entity_type IN ({kinds}) GROUP BY 1, 2")}
    out = {}
    for kind, table in VERSIONED.items():
        for id_, version in psql(f"SELECT id, version FROM {table}"):
            out[(kind, id_)] = (int(version), events.get((kind, id_), 0))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", required=True, help="the pactum binary")
    ap.add_argument("--work", required=True, help="folder for the instances' logs")
    ap.add_argument("--token", required=True, help="bearer token with the admin role")
    ap.add_argument("--ports", default="18093,18094", help="ports of instance A and B")
    ap.add_argument("--duration", type=float, default=60, help="seconds of load")
    ap.add_argument("--connections", type=int, default=32, help="worker threads, one connection each")
    args = ap.parse_args()

    port_a, port_b = (int(p) for p in args.ports.split(","))
    a = Instance("A", args.bin, port_a, args.work)
    b = Instance("B", args.bin, port_b, args.work)
    instances = [a, b]
    try:
        for inst in instances:
            inst.start()
        for inst in instances:
            inst.wait_ready()
        return run(args, a, b)
    finally:
        for inst in instances:
            inst.stop()


def run(args, a, b):
    ports = {"A": a.port, "B": b.port}
    api = Client(b.port, args.token)
    baseline = versions_and_events()
    fx = create_fixtures(api)

    # The load, and A killed halfway and started again 3 s later.
    t0 = time.monotonic()
    end = t0 + args.duration
    workers = [Worker(n, fx, ports, args.token, t0, end) for n in range(args.connections)]
    for w in workers:
        w.start()
    time.sleep(args.duration / 2)
    kill_at = time.monotonic() - t0
    a.kill()
    time.sleep(3)
    a.start()
    up_at = a.wait_ready() - t0
    for w in workers:
        w.join()
    elapsed = time.monotonic() - t0
    records = [r for w in workers for r in w.records]

    failures = []  # (invariant, evidence line)

    def in_outage(t):
        return kill_at <= t <= up_at + MARGIN

    # Statuses: each one its operation may answer; 503 and failed connections only from A, the
    # instance that was down, during the outage.
    bad = Counter()
    sample = {}
    for kind, inst, status, t, _, detail in records:
        if status == "unavailable":
            ok = inst == "A" and in_outage(t)
        elif status == "timeout":
            ok = False
        elif status == 503:
            ok = inst == "A" and in_outage(t)
        else:
            ok = status in ALLOWED[kind]
        if not ok:
            bad[(kind, inst, status)] += 1
            sample.setdefault((kind, inst, status), f"t={t:.2f}s {detail}")
    for (kind, inst, status), n in sorted(bad.items(), key=str):
        failures.append(("statuses", f"{kind} on {inst}: {status} x{n}; first: {sample[(kind, inst, status)]}"))

    # Of the writers that based a PATCH on one ETag, at most one won; each task completed once.
    for kind, what in (("patch if-match", "ETag"), ("complete", "task")):
        wins = Counter(key for k, _, status, _, key, _ in records if k == kind and status == 200)
        for key, n in wins.items():
            if n > 1:
                failures.append(("one winner", f"{kind}: {n} answers 200 for the same {what} {key}"))

    # No two links of contracts of one type cover an installation on the same day (the types
    # read from the contracts, not from the copy the exclusion constraint sees).
    overlaps = psql("""
        SELECT x.id, y.id, x.installation_id, cx.contract_type, x.valid_from, x.valid_to, y.valid_from, y.valid_to
        FROM coverages x JOIN contracts cx ON cx.id = x.contract_id
        JOIN coverages y ON y.installation_id = x.installation_id AND y.id > x.id
        JOIN contracts cy ON cy.id = y.contract_id AND cy.contract_type = cx.contract_type
        WHERE daterange(x.valid_from, x.valid_to, '[]') && daterange(y.valid_from, y.valid_to, '[]')""")
    failures += [("no overlapping coverage", "|".join(row)) for row in overlaps[:20]]

    # No contract is its own ancestor. Each walk up stops at the row it started from or, for a
    # row that leads into a cycle it is not part of, after 1000 steps (the cycle's own rows are
    # found by their own walks).
    cycles = psql("""
        WITH RECURSIVE up(start, at, depth) AS (
            SELECT id, parent_id, 1 FROM contracts WHERE parent_id IS NOT NULL
            UNION ALL
            SELECT up.start, c.parent_id, up.depth + 1 FROM up JOIN contracts c ON c.id = up.at
            WHERE c.parent_id IS NOT NULL AND up.at <> up.start AND up.depth < 1000
        ) SELECT DISTINCT start FROM up WHERE at = start""")
    failures += [("no cycle", f"contract {row[0]} is its own ancestor") for row in cycles[:20]]

    for table in ("contracts", "service_calls"):
        dupes = psql(f"SELECT number, count(*) FROM {table} GROUP BY number HAVING count(*) > 1")
        failures += [("unique numbers", f"{table}: number {n} x{c}") for n, c in dupes[:20]]

    # The feed from the start: each event once, in strictly increasing order, and all of them.
    # A fresh connection: the setup's has idled past the server's keep-alive during the load.
    feed = everything(Client(b.port, args.token), "/api/v1/events?limit=500", "after")
    sequences = [e["sequence"] for e in feed]
    stored = [int(r[0]) for r in psql("SELECT position FROM events WHERE position IS NOT NULL ORDER BY position")]
    total = int(psql("SELECT count(*) FROM events")[0][0])
    disorder = [(p, q) for p, q in zip(sequences, sequences[1:]) if p >= q]
    failures += [("feed once, in order", f"sequence {p} listed before {q}") for p, q in disorder[:20]]
    if len(feed) != total:
        failures.append(("feed once, in order", f"the feed listed {len(feed)} events; the log holds {total}"))
    if sorted(set(sequences)) != stored:
        missing = sorted(set(stored) - set(sequences))[:10]
        extra = sorted(set(sequences) - set(stored))[:10]
        failures.append(("feed once, in order", f"positions not listed: {missing}; listed but not stored: {extra}"))

    # One event per committed change: what each versioned row went through since the baseline
    # (version and events, both 0 for rows made during the run) leaves as many events in the feed.
    in_feed = Counter((e["entity_type"], e["entity_id"]) for e in feed)
    now = versions_and_events()
    for (kind, id_), (version, _) in sorted(now.items()):
        before_version, before_events = baseline.get((kind, id_), (0, 0))
        changes, events = version - before_version, in_feed[(kind, id_)] - before_events
        if changes != events:
            failures.append(("one event per change", f"{kind} {id_}: {changes} changes (version {version}), {events} events"))

    report(args, records, elapsed, kill_at, up_at, failures, a, b)
    return 1 if failures else 0


INVARIANTS = ["statuses", "one winner", "no overlapping coverage", "no cycle", "unique numbers",
              "one event per change", "feed once, in order"]


def report(args, records, elapsed, kill_at, up_at, failures, a, b):
    print(f"## Mixed load: {args.connections} connections, {args.duration:g} s, two instances on PostgreSQL\n")
    answered = sum(1 for r in records if isinstance(r[2], int))
    print(f"{len(records)} requests in {elapsed:.1f} s, {answered} of them answered: "
          f"{answered / elapsed:.0f} answered requests/s.")
    print(f"Instance A SIGKILLed at {kill_at:.1f} s, ready again at {up_at:.1f} s "
          f"(down {up_at - kill_at:.1f} s; failures on it count as the outage until {up_at + MARGIN:.1f} s).")
    unavailable = Counter(inst for _, inst, status, _, _, _ in records if status == "unavailable")
    print(f"Unavailable (connection refused/reset): {unavailable['A']} on A, {unavailable['B']} on B.\n")

    print("| operation | instance | requests | statuses |")
    print("|---|---|---|---|")
    by_op = defaultdict(Counter)
    for kind, inst, status, _, _, _ in records:
        by_op[(kind, inst)][status] += 1
    for kind in ALLOWED:
        for inst in "AB":
            counts = by_op.get((kind, inst), Counter())
            statuses = ", ".join(f"{s}: {n}" for s, n in sorted(counts.items(), key=lambda x: str(x[0])))
            print(f"| {kind} | {inst} | {sum(counts.values())} | {statuses} |")
    print()

    print("| invariant | result |")
    print("|---|---|")
    failed = Counter(name for name, _ in failures)
    for name in INVARIANTS:
        print(f"| {name} | {'FAIL (' + str(failed[name]) + ')' if failed[name] else 'PASS'} |")
    if failures:
        print("\nFailures (first 50):\n")
        for name, line in failures[:50]:
            print(f"- {name}: {line}")
    print(f"\nServer logs: {a.log_path}, {b.log_path}")


if __name__ == "__main__":
    sys.exit(main())
