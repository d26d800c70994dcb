"""The cluster proof: workers on hosts of their own, killed and cut off, one PostgreSQL, one world.

Work keeps arriving at the mock world (deposits with their tickets, pending transactions, a
transfer nobody opened a ticket for, which finance then credits by hand from two hosts at
once); meanwhile a worker is killed with -9 while it runs the deposits bot, a worker's cable
is pulled mid-run for half a minute, PostgreSQL restarts. At the end one worker is left
alone, the work runs out, and the invariants are read from the world's own state (its
control API) and from the queue's tables:

- every ticket approved once, every hand credit made once, every complaint sent once;
- nothing lost: every ticket approved, every pending transaction complained about, every
  escalation finance resolved credited;
- a job whose worker died started again within 60 s (p95);
- with one worker left, a fire starts within 5 s of being due (p99);
- never more than two bot runs driving a browser at once (2 cores).
"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from cluster.net import HOST_IP, Network
from cluster.postgres import ClusterPostgres
from mock_portals.process import WorldProcess

ROOT = Path(__file__).resolve().parents[1]
WORLD = ROOT / "fixtures" / "world"
ACCOUNT = "5270418836"   # BCA, fixtures/world/bank_accounts.csv
PORTALS = ("BANK_BCA_", "OTOMAX_", "SUPPLIER_", "HELPDESK_")
HELPDESK = "json://finance:Hlp-demo-8253@{}/helpdesk/api/messages"
SCHEDULES = {"reconcile_payments": "5s", "check_pending_tx": "5s"}
MAX_RETRY_S, MAX_LAG_S, SLOTS = 60.0, 5.0, 2


@dataclass
class Plan:
    workers: int = 3
    kills: int = 50
    cutoffs: int = 10
    pg_restarts: int = 2
    cut_seconds: float = 30.0
    alone_seconds: float = 90.0   # the last phase: one worker left
    quiet_timeout: float = 900.0  # after the work stops: until every item is done
    hand: bool = True             # transfers without a ticket, credited by hand from two hosts at once
    pause: tuple[float, float] = (1.0, 4.0)   # a killed host is down this long (s)
    feed_seconds: float = 8.0     # new work every so often: one deposit, one pending transaction


#: `make test`'s form: the same faults once or twice, no hand credits (each is two CLI processes)
SHORT = Plan(workers=2, kills=2, cutoffs=1, pg_restarts=1, cut_seconds=25.0, alone_seconds=12.0, quiet_timeout=60.0,
             hand=False, pause=(0.5, 1.0), feed_seconds=4.0)


@dataclass
class Tally:
    kills: list[tuple[str, float, list[str]]] = field(default_factory=list)   # host, when, bots it ran
    cutoffs: list[tuple[str, float, list[str]]] = field(default_factory=list)
    pg_restarts: int = 0
    tickets: dict[str, int] = field(default_factory=dict)       # ticket → amount (must be approved once)
    transactions: list[str] = field(default_factory=list)       # must get one normal complaint
    hand: dict[int, int] = field(default_factory=dict)          # escalation id → amount resolved (exit 0)
    hand_amounts: set[int] = field(default_factory=set)         # transfers with no ticket: finance's
    resolve_codes: Counter = field(default_factory=Counter)
    most_browsers: int = 0
    most_slots: int = 0
    alone_from: float = 0.0
    alone_until: float = 0.0
    problems: list[str] = field(default_factory=list)


class World(WorldProcess):
    """The mock world, listening on the bridge so that every host reaches it."""

    def __init__(self, seed: Path, log: Path):
        self.log = log.open("w")
        self.process = subprocess.Popen([sys.executable, "-m", "bots", "portals", "--seed", str(seed), "--host",
                                         HOST_IP, "--port", "0"], cwd=ROOT, stdout=subprocess.PIPE,
                                        stderr=self.log, text=True)
        self.url = self.process.stdout.readline().strip()
        if not self.url.startswith("http://"):
            raise RuntimeError(f"mock world did not start: {self.url}")


class Proof:
    def __init__(self, plan: Plan, folder: Path, rng: random.Random, say=print):
        self.plan, self.folder, self.rng = plan, folder, rng
        self.began = time.monotonic()
        self.say = lambda line: say(f"{time.monotonic() - self.began:6.1f}s {line}")
        self.net = Network(plan.workers)
        self.pg = ClusterPostgres()
        self.tally = Tally()
        self.workers: dict[str, subprocess.Popen] = {}
        self.down: set[str] = set()           # hosts killed or cut off right now
        self.stop_feeding = threading.Event()
        self.lock = threading.Lock()
        self.count = 0

    # -- set-up --------------------------------------------------------------------------------
    def setup(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.net.up()
        self.database = self.pg.start() and self.pg.create("bots")
        seed = self.folder / "world"
        seed.mkdir()
        for name in ("portal_users.csv", "agents.csv"):
            shutil.copy(WORLD / name, seed / name)
        (seed / "bank_accounts.csv").write_text("bank,account_no,holder,opening_balance\n"
                                                f"bca,{ACCOUNT},PT TRAVELPULSA NUSANTARA,185450000\n")
        self.world = World(seed, self.folder / "world.log")
        self.agents = [a["agent_id"] for a in self.world.state()["agents"]]
        env_file = self.folder / "cluster.env"
        env_file.write_text("".join(line + "\n" for line in (ROOT / "config" / "demo.env").read_text().splitlines()
                                    if line.startswith(PORTALS)))
        config = self.folder / "config"
        config.mkdir()
        for toml in (ROOT / "config").glob("*.toml"):
            text = re.sub(r"(?ms)^\[schedule\.jobs\.[a-z_]+\]\n.*?(?=^\[|\Z)", "", toml.read_text())
            text = re.sub(r"(?m)^backoff_seconds = .*$", "backoff_seconds = 0.5", text)
            (config / toml.name).write_text(text)
        (config / "zz-cluster.toml").write_text("".join(f'[schedule.jobs.{bot}]\nevery = "{every}"\n\n'
                                                        for bot, every in SCHEDULES.items()))
        keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "PLAYWRIGHT_BROWSERS_PATH")}
        self.env = {**keep, "BOTS_ENV_FILE": str(env_file), "BOTS_CONFIG_DIR": str(config),
                    "PORTALS_BASE_URL": self.world.url, "DATABASE_URL": self.database,
                    "BOTS_RETRY_ATTEMPTS": "2", "BOTS_BROWSER_SLOTS": str(SLOTS), "COLUMNS": "160",
                    "NOTIFY_URLS": HELPDESK.format(self.world.url[len("http://"):])}

    def host_env(self, host: str) -> dict:
        home = self.folder / "hosts" / host
        return {**self.env, "VAR_DIR": str(home / "var"), "REPORTS_DIR": str(home / "reports"),
                "LOGS_DIR": str(home / "logs")}

    def start_worker(self, host: str) -> None:
        log = (self.folder / f"worker-{host}.log").open("a")
        self.workers[host] = subprocess.Popen(
            self.net.command(host, [sys.executable, "-m", "bots", "worker", "--name", host]), cwd=ROOT,
            env=self.host_env(host), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.down.discard(host)

    # -- the store and the queue, read by the harness ----------------------------------------
    def sql(self, query: str, args: tuple = ()) -> list[tuple]:
        import psycopg

        try:
            with psycopg.connect(host=str(self.pg.folder), port=self.pg.port, user="postgres", dbname="bots",
                                 connect_timeout=5) as conn:
                return conn.execute(query, args).fetchall()
        except psycopg.Error:
            return []

    def running(self, host: str) -> list[str]:
        """The bots a host runs now (its browser-slot sessions name them)."""
        rows = self.sql("SELECT application_name FROM pg_stat_activity WHERE application_name LIKE %s",
                        (f"bots-job:{host}:%",))
        return sorted({r[0].split(":")[2] for r in rows})

    # -- work arriving -------------------------------------------------------------------------
    def feed(self) -> None:
        while not self.stop_feeding.wait(self.plan.feed_seconds):
            try:
                self._feed_once()
            except Exception as exc:  # noqa: BLE001 - the world busy: the next round adds more
                self.say(f"  (feeder: {type(exc).__name__}: {exc})")

    def resolve(self) -> None:
        while not self.stop_watching.wait(2.0):
            try:
                self._resolve_one()
            except Exception as exc:  # noqa: BLE001 - a host cut off mid-resolve: the next round again
                self.say(f"  (finance: {type(exc).__name__}: {exc})")

    def _feed_once(self) -> None:
        tickets, transfers, transactions, behaviour = [], [], [], []
        for _ in range(1):
            self.count += 1
            amount = 1000 * (200 + 2 * self.count) + self.rng.randint(1, 999)
            ticket = f"CL{self.count:05d}"
            tickets.append({"ticket_id": ticket, "agent_id": self.rng.choice(self.agents), "amount": amount,
                            "bank": "bca", "account_no": ACCOUNT, "created_at": "-5m", "expires_at": "+6h",
                            "status": "OPEN"})
            transfers.append(self._transfer(amount))
            self.tally.tickets[ticket] = amount
        self.count += 1
        trx = f"CT{self.count:05d}"
        transactions.append({"trx_id": trx, "agent_id": self.rng.choice(self.agents), "product": "S10",
                             "destination": f"0812{self.rng.randrange(10**8):08d}", "price": 10250,
                             "supplier": self.rng.choice(["mitra", "sinar"]), "created_at": "-3m",
                             "status": "PENDING", "sn": ""})
        behaviour.append({"trx_id": trx, "resolves_after": "never", "final_status": "", "sn": ""})
        self.tally.transactions.append(trx)
        if self.plan.hand and self.count % 5 == 0:  # a transfer with no ticket: escalated, then credited by hand
            amount = 7_000_000 + 1000 * self.count + 777
            transfers.append(self._transfer(amount))
            self.tally.hand_amounts.add(amount)
        self.world.add("tickets", tickets)
        self.world.add("mutations", transfers)
        self.world.add("transactions", transactions)
        self.world.add("supplier_behaviour", behaviour)

    def _transfer(self, amount: int) -> dict:
        return {"bank": "bca", "account_no": ACCOUNT, "posted_at": "-2s", "amount": amount, "direction": "CR",
                "description": f"TRSF E-BANKING CR {self.rng.randrange(10**5):05d}/FTSCY/WS95051 {amount}.00 "
                               f"PELANGGAN {self.rng.randrange(1000)}"}

    def _resolve_one(self) -> None:
        """Finance credits one escalated transfer by hand, from two hosts at once."""
        rows = self.sql("SELECT e.id, l.amount FROM escalations e JOIN statement_lines l ON l.fingerprint = "
                        "e.fingerprint WHERE e.status = 'OPEN' ORDER BY e.id")
        ours = [(i, int(float(a))) for i, a in rows if int(float(a)) in self.tally.hand_amounts]
        alive = [h for h in self.net.hosts if h not in self.down]
        if not ours or not alive:
            return
        esc, amount = ours[0]
        args = [sys.executable, "-m", "bots", "escalations", "resolve", str(esc), "--agent", self.agents[0],
                "--note", f"transfer tanpa tiket {amount}, dicek finance (cluster)"]
        hosts = [alive[i % len(alive)] for i in range(2)]
        # the deposits bot's lock keeps resolves out while it runs (exit 4): finance tries again
        for _ in range(20):
            with (self.folder / "finance.log").open("a") as log:
                log.write(f"-- ESK-{esc} from {' and '.join(hosts)}\n")
                log.flush()
                runs = [subprocess.Popen(self.net.command(h, args), cwd=ROOT, env=self.host_env(h),
                                         stdout=log, stderr=log) for h in hosts]
                codes = [r.wait(timeout=180) for r in runs]
            self.tally.resolve_codes.update(codes)
            if set(codes) != {4}:
                break
            time.sleep(0.3)
        if 0 in codes:
            self.tally.hand[esc] = amount
        if any(code not in (0, 4) for code in codes):
            self.say(f"  escalations resolve ESK-{esc} from {' and '.join(hosts)}: exit {codes}")

    # -- faults ----------------------------------------------------------------------------------
    def watch(self) -> None:
        """Every half second: browser slots held and browsers running (never more than two)."""
        while not self.stop_watching.is_set():
            held = self.sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 7338 "
                            "AND objid < 1000 AND granted")
            self.tally.most_slots = max(self.tally.most_slots, held[0][0] if held else 0)
            # hosts cut off are not counted: their runs hold no slot once the server ends their
            # sessions, and fail at the first portal they cannot reach
            reachable = [h for h in self.net.hosts if h not in self.down]
            workers = {p.pid for h, p in self.workers.items() if h in reachable}
            browsers = _browsers(workers)
            self.tally.most_browsers = max(self.tally.most_browsers, browsers)
            time.sleep(0.5)

    def wait_for_run(self, hosts: list[str], bot: str | None, seconds: float) -> tuple[str, list[str]] | None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for host in self.rng.sample(hosts, len(hosts)):
                running = self.running(host)
                if running and (bot is None or bot in running):
                    return host, running
            time.sleep(0.3)
        return None

    def kill_one(self) -> None:
        alive = [h for h in self.net.hosts if h not in self.down]
        found = self.wait_for_run(alive, "reconcile_payments", 40) or self.wait_for_run(alive, None, 20)
        if not found:
            self.tally.problems.append("no worker ran anything for a minute")
            return
        host, running = found
        time.sleep(self.rng.uniform(0.5, 3.0))  # mid-run: logging in, approving, writing the workbook
        running = sorted(set(running) | set(self.running(host)))
        self.net.kill(host)
        self.down.add(host)
        self.tally.kills.append((host, time.time(), running))
        self.say(f"  kill -9 {host} (running {', '.join(running)})")
        time.sleep(self.rng.uniform(*self.plan.pause))
        self.start_worker(host)

    def cut_one(self) -> threading.Thread | None:
        alive = [h for h in self.net.hosts if h not in self.down]
        found = self.wait_for_run(alive, None, 40)
        if not found or len(alive) < 2:
            return None
        host, running = found
        time.sleep(self.rng.uniform(0.5, 2.0))
        self.net.cut(host)
        self.down.add(host)
        self.tally.cutoffs.append((host, time.time(), running))
        self.say(f"  cable of {host} pulled (running {', '.join(running)})")

        def mend():
            time.sleep(self.plan.cut_seconds)
            self.net.mend(host)
            self.down.discard(host)
            self.say(f"  cable of {host} back")

        thread = threading.Thread(target=mend, daemon=True)
        thread.start()
        return thread

    # -- the run -------------------------------------------------------------------------------
    def run(self) -> Tally:
        plan, started = self.plan, time.monotonic()
        self.setup()
        for host in self.net.hosts:
            self.start_worker(host)
        self.stop_watching = threading.Event()
        threads = [threading.Thread(target=self.feed, daemon=True), threading.Thread(target=self.watch, daemon=True),
                   threading.Thread(target=self.resolve, daemon=True)]
        for thread in threads:
            thread.start()
        events = ["kill"] * plan.kills + ["cut"] * plan.cutoffs
        self.rng.shuffle(events)
        restarts_at = {int(len(events) * (n + 1) / (plan.pg_restarts + 1)) for n in range(plan.pg_restarts)}
        menders, number = [], -1
        while number + 1 < len(events):
            number += 1
            event = events[number]
            if number in restarts_at:
                self.pg.restart()
                self.tally.pg_restarts += 1
                self.say("  PostgreSQL restarted")
            done = len(self.tally.kills) + len(self.tally.cutoffs)
            if event == "kill":
                self.kill_one()
            else:
                menders.append(self.cut_one())
            if len(self.tally.kills) + len(self.tally.cutoffs) == done and len(events) < 2 * (plan.kills + plan.cutoffs):
                events.append(event)  # nothing was running to break: again later
        for mender in filter(None, menders):
            mender.join()
        # the last phase: one worker left; then the work stops and the world goes quiet
        for host in self.net.hosts[1:]:
            self.net.kill(host)
            self.down.add(host)
        self.tally.alone_from = time.time()
        self.say(f"  one worker left ({self.net.hosts[0]})")
        if not plan.hand:  # the short form: what is in the world is enough work for the last phase
            self.stop_feeding.set()
        time.sleep(plan.alone_seconds)
        self.stop_feeding.set()
        threads[0].join()
        self.wait_quiet(plan.quiet_timeout)
        self.tally.alone_until = time.time()
        # on a busy machine the last runs can outlast the short form's lone phase: the lag is measured
        # on the fires that start after it, so wait (a minute at most) for one to start
        deadline = time.monotonic() + 60
        while not self.lags() and time.monotonic() < deadline:
            time.sleep(2)
            self.tally.alone_until = time.time()
        self.stop_watching.set()
        threads[1].join()
        threads[2].join()
        self.say(f"  {time.monotonic() - started:.0f} s")
        return self.tally

    def pending(self, state: dict) -> tuple[list[str], list[str], list[int]]:
        approved = {t["ticket_id"] for t in state["tickets"] if t["status"] == "APPROVED"}
        complained = {c["trx_id"] for c in state["complaints"] if c["level"] == "normal"}
        manual = Counter(r["amount"] for r in state["balance_log"] if r.get("kind") == "MANUAL")
        return (sorted(set(self.tally.tickets) - approved),
                [t for t in self.tally.transactions if t not in complained],
                sorted(a for a in self.tally.hand_amounts if not manual[a]))

    def wait_quiet(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and any(self.pending(self.world.state())):
            time.sleep(2)

    def teardown(self) -> None:
        for process in self.workers.values():
            if process.poll() is None:
                process.terminate()
        for process in self.workers.values():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                pass
        for host in self.net.hosts:
            self.net.kill(host)
        if getattr(self, "world", None):
            self.world.stop()
            self.world.log.close()
        self.pg.stop()
        self.net.down()

    # -- the invariants -------------------------------------------------------------------------
    def invariants(self) -> list[tuple[str, str, str, bool]]:
        """(invariant, measured, bound, held) rows."""
        state, t = self.world.state(), self.tally
        by_ticket = Counter(r["ticket_id"] for r in state["balance_log"] if r.get("ticket_id"))
        manual = Counter(r["amount"] for r in state["balance_log"] if r.get("kind") == "MANUAL")
        steps = Counter((c["trx_id"], c["level"]) for c in state["complaints"])
        titles = Counter(m["title"] for m in state["helpdesk_messages"])
        doubles = (sum(n > 1 for n in by_ticket.values()), sum(n > 1 for n in manual.values()),
                   sum(n > 1 for n in steps.values()), sum(n > 1 for n in titles.values()))
        lost = [len(x) for x in self.pending(state)]
        retries = self.retry_seconds()
        lags = self.lags()
        rows = [
            ("tickets approved twice", f"{doubles[0]} of {len(t.tickets)}", "0", doubles[0] == 0),
            ("hand credits made twice", f"{doubles[1]} of {len(t.hand_amounts)}", "0", doubles[1] == 0),
            ("complaints sent twice", f"{doubles[2]} of {len(t.transactions)}", "0", doubles[2] == 0),
            ("notifications sent twice", f"{doubles[3]}", "0", doubles[3] == 0),
            ("tickets not approved", f"{lost[0]}", "0", lost[0] == 0),
            ("pending transactions without a complaint", f"{lost[1]}", "0", lost[1] == 0),
            ("transfers without a ticket not credited by hand", f"{lost[2]}", "0", lost[2] == 0),
            ("bot runs that exited 1", f"{self.exits().get(1, 0)} of {sum(self.exits().values())}", "0",
             self.exits().get(1, 0) == 0),
            ("stalled job started again, p95", _p(retries, 95), f"≤ {MAX_RETRY_S:.0f} s",
             bool(retries) and _q(retries, 95) <= MAX_RETRY_S),
            ("scheduling lag with one worker left, p99", _p(lags, 99), f"≤ {MAX_LAG_S:.0f} s",
             bool(lags) and _q(lags, 99) <= MAX_LAG_S),
            ("browsers at once (slots held)", f"{t.most_browsers} ({t.most_slots})", f"≤ {SLOTS}",
             t.most_browsers <= SLOTS and t.most_slots <= SLOTS),
            ("escalations resolve exit 1", f"{t.resolve_codes.get(1, 0)} of {sum(t.resolve_codes.values())}", "0",
             t.resolve_codes.get(1, 0) == 0),
        ]
        return rows

    def exits(self) -> Counter:
        """Exit codes of the bot runs the workers started (their logs say)."""
        codes: Counter = Counter()
        for log in self.folder.glob("worker-*.log"):
            for line in log.read_text(errors="replace").splitlines():
                if re.search(r"worker w\d+: \w+ finished$", line):
                    codes[0] += 1
                elif match := re.search(r"worker w\d+: \w+ (?:ended with exit code (-?\d+)|skipped)", line):
                    codes[int(match.group(1) or 4)] += 1
        return codes

    def _events(self) -> tuple[dict, list[tuple[int, str, float]]]:
        jobs = {i: (lock, int(ts)) for i, lock, ts in
                self.sql("SELECT id, lock, (args->>'timestamp')::bigint FROM procrastinate_jobs")}
        events = [(j, kind, at.timestamp()) for j, kind, at in
                  self.sql("SELECT job_id, type::text, at FROM procrastinate_events ORDER BY at")]
        return jobs, events

    def retry_seconds(self) -> list[float]:
        """Per killed or cut-off host and bot it ran: from the fault to that bot's next start elsewhere."""
        jobs, events = self._events()
        starts = [(jobs[j][0], at) for j, kind, at in events if kind == "started" and j in jobs]
        out = []
        for _host, when, bots in self.tally.kills + self.tally.cutoffs:
            for bot in bots:
                later = [at for lock, at in starts if lock == bot and at > when]
                out.append(min(later) - when if later else float("inf"))
        return out

    def lags(self) -> list[float]:
        """Fires due after one worker was left: start − due, due = the fire time, or the end of the
        bot's previous run if that was later (runs of a bot never overlap: that fire waits)."""
        jobs, events = self._events()
        first_start: dict[int, float] = {}
        ends: dict[str, list[float]] = {}
        for j, kind, at in events:
            if j not in jobs:
                continue
            if kind == "started":
                first_start.setdefault(j, at)
            if kind in ("succeeded", "failed", "aborted", "deferred_for_retry"):
                ends.setdefault(jobs[j][0], []).append(at)
        out = []
        for j, start in first_start.items():
            lock, fire = jobs[j]
            if fire < self.tally.alone_from + 5 or fire > self.tally.alone_until:
                continue
            before = [e for e in ends.get(lock, []) if e <= start]
            due = max([fire] + before[-1:])
            out.append(max(0.0, start - due))
        return out


def _browsers(workers: set[int]) -> int:
    """Browser main processes the workers started (finance's own commands not counted):
    Playwright starts each with --remote-debugging-pipe; renderers and helpers carry --type=."""
    parent: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue

    def under_worker(pid: int) -> bool:
        while pid > 1:
            if pid in workers:
                return True
            pid = parent.get(pid, 0)
        return False

    mains = set()
    for pid in filter(under_worker, parent):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").split()  # Chromium rewrites its argv
        except OSError:
            continue
        wrapper = cmd and cmd[0].rsplit(b"/", 1)[-1] in (b"sh", b"bash")  # Debian's launcher script
        if b"--remote-debugging-pipe" in cmd and not wrapper and not any(a.startswith(b"--type=") for a in cmd):
            mains.add(pid)
    # a helper the browser has just forked still shows the browser's command line until it
    # execs (a zygote, a renderer): a main process is one whose parent is not a browser
    count = sum(parent.get(pid) not in mains for pid in mains)
    if os.environ.get("CLUSTER_DEBUG"):
        print("browsers", sorted(mains), "counted", count, flush=True)
    return count


def _q(values: list[float], percent: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, -(-len(ordered) * percent // 100) - 1))]


def _p(values: list[float], percent: int) -> str:
    if not values:
        return "no samples"
    return f"{_q(values, percent):.1f} s (n={len(values)}, max {max(values):.1f} s)"


def table(rows, tally: Tally, seconds: float) -> str:
    lines = [f"cluster proof: {len(tally.kills)} worker kills, {len(tally.cutoffs)} cut-offs, "
             f"{tally.pg_restarts} PostgreSQL restarts, {seconds:.0f} s", "",
             f"| {'invariant':<44} | {'measured':<34} | {'bound':<8} | ok  |",
             f"|{'-' * 46}|{'-' * 36}|{'-' * 10}|-----|"]
    for name, measured, bound, held in rows:
        lines.append(f"| {name:<44} | {measured:<34} | {bound:<8} | {'yes' if held else 'NO':<3} |")
    violations = sum(not held for *_, held in rows)
    lines += [f"harness: {p}" for p in tally.problems]
    lines += ["", f"violations: {violations}"]
    return "\n".join(lines)
