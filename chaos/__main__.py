"""`make chaos`: fault scenarios and kill -9 across the three bots, then the invariants.

    python -m chaos                       # the full campaign (≥ 500 scenarios, ≥ 100 kills)
    python -m chaos --scenarios 4         # per bot; the short form `make test` runs
    python -m chaos --bot check_pending_tx --seed 7 --scenarios 12    # replay a failing one
    python -m chaos --family hosts --scenarios 2                        # one family only
    python -m chaos --family hosts --store postgresql --scenarios 10   # hosts sharing one PostgreSQL

Families (chaos/families.py): classic (faults, kill -9), hosts (2–3 processes on one store
with different VAR_DIRs), store_lost (the store deleted between scenarios), note_limit (a server
that truncates notes), refusals (a server that refuses actions); for reconcile_payments also
second_format, pend_reversed, back_dated, bank_down, outside_text, clock_jump (issue 12).

Each bot gets its own generated world (one process) and plays its scenarios in order; the
three bots play at the same time. The table goes to the terminal, to
`reports/chaos/chaos-YYYY-MM-DD.json`, and with `--readme` into README.md's "Reliability".
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

from chaos.campaigns import CAMPAIGNS, Campaign, PostgresStore
from chaos.families import FAMILIES, RECONCILE_ONLY, pick_family, plan_for, uses_classic_faults
from chaos.harness import (MAX_RERUNS, ROOT, ChaosWorld, Run, Tally, bot_env, chaos_config, fault_profile,
                           fresh_folder, run_at_once, run_bot)

KILL_SHARE = 0.9


def play(campaign: Campaign, scenarios: int, seed: int, config: Path, logs: Path, say,
         family: str | None = None) -> Tally:
    """One bot's scenarios against one world; a failing scenario names its replay command."""
    tally, bot = Tally(), campaign.bot
    seed_dir = campaign.folder / "seed"
    campaign.write_seed(seed_dir)
    world = ChaosWorld(seed_dir, campaign.folder / "world.log")
    try:
        campaign.started(world)
        env = bot_env(world, campaign.folder, config, logs, campaign.database_url)
        for number in range(scenarios):
            kind = family or pick_family(seed, bot, number)
            problems, note = scenario(campaign, kind, number, seed, env, tally)
            tally.scenarios[bot] += 1
            tally.families[kind] += 1
            tally.family_violations[kind] += len(problems)
            replay = f"python -m chaos --bot {bot} --seed {seed} --scenarios {number + 1}" + (
                f" --family {family}" if family else "") + (" --store postgresql" if campaign.postgres else "")
            for problem in problems:
                tally.violations.append(f"{bot} scenario {number} [{kind}] (seed {seed}; replay: {replay}): {problem}")
                say(f"VIOLATION {tally.violations[-1]}")
            say(f"{bot} {number + 1}/{scenarios} [{kind}]: {note}, {len(problems)} violation(s)")
        tally.faults.update(world.call("faults")["injected"])
    finally:
        world.stop()
    return tally


def scenario(campaign: Campaign, kind: str, number: int, seed: int, env: dict,
             tally: Tally) -> tuple[list[str], str]:
    """One scenario of one family: new work, the first run(s), reruns until quiet, the invariants."""
    bot, world = campaign.bot, campaign.world
    rng = random.Random(f"{seed}:{bot}:{number}")
    if kind == "store_lost":
        tally.events["stores deleted"] += campaign.forget_store()
    tally.items[campaign.item] += campaign.inject(rng)
    profile, crash_at, point = {}, None, None
    if uses_classic_faults(kind):  # the classic draws, in the classic order
        profile = fault_profile(rng, campaign.fault_portals)
        point = rng.choice(campaign.kill_points) if rng.random() < KILL_SHARE else None
        crash_at = f"{point}@{rng.choices([1, 2, 3], [85, 10, 5])[0]}" if point else None
    plan = plan_for(kind, rng, campaign.action_portals, bot)
    campaign.begin(kind)
    problems: list[str] = campaign.before_runs(plan, rng, env, tally)  # a family's own steps (issue 12)
    world.call("faults", {**profile, **plan.first, **plan.steady})
    if plan.processes > 1:
        tally.events["runs side by side"] += plan.processes
        firsts = run_at_once([(["run", bot], {**campaign.elsewhere(env, number, i), **campaign.run_env()}, None)
                              for i in range(plan.processes)])
        problems += [f"run {i + 1} of {plan.processes} side by side exited {r.code} (expected 0, or 4: "
                     f"the lock refused it): {r.tail[-400:]}" for i, r in enumerate(firsts) if r.code not in (0, 4)]
        first = next((r for r in firsts if r.code == 0), firsts[0])
    else:
        firsts = [first] = [run_bot(bot, {**env, **campaign.run_env()}, crash_at)]
    world.call("faults", plan.steady)  # the server's lasting quirk stays; the rest clears
    tally.runs[bot] += len(firsts)
    tally.run_seconds += [r.seconds for r in firsts]
    if point:
        (tally.kills if first.code == -9 else tally.kills_missed)[point] += 1
    problems += campaign.after_first(plan, first, rng, tally)
    last, quiet = rerun_until_quiet(campaign, env, tally, first)
    if quiet and campaign.after_quiet(plan, rng, env, tally, problems):  # the family added work: again
        last, quiet = rerun_until_quiet(campaign, env, tally)
    if quiet and plan.resolve:
        tally.events[f"escalation resolves ({plan.resolve})"] += 1
        problems += campaign.resolve_step(rng, env, number, plan.resolve, tally)
    world.call("faults", {})
    problems += campaign.check() if quiet else [
        f"not quiet after {MAX_RERUNS} reruns (classic faults off): exit {last.code}: {last.tail}"]
    note = "first run" + ("s" if len(firsts) > 1 else "") + " exit " + "/".join(str(r.code) for r in firsts)
    return problems, note + (f" (kill at {crash_at})" if crash_at else "")


def rerun_until_quiet(campaign: Campaign, env: dict, tally: Tally, last: Run | None = None) -> tuple[Run, bool]:
    """Runs without faults until one ends cleanly (at most MAX_RERUNS): the last run, and whether it did."""
    if last is not None and last.code == 0:
        return last, True
    for _ in range(MAX_RERUNS):
        last = run_bot(campaign.bot, {**env, **campaign.run_env()})
        tally.runs[campaign.bot] += 1
        tally.run_seconds.append(last.seconds)
        if last.code == 0:
            return last, True
    assert last is not None
    return last, False


def bad_inputs() -> tuple[int, int]:
    """The bad-input corpus (`fixtures/bad/`, tests/test_bad_inputs.py): cases tried, cases failed."""
    test = ROOT / "tests" / "test_bad_inputs.py"
    if not test.exists():
        return 0, 0
    report = ROOT / "reports" / "chaos" / "bad-inputs.xml"
    subprocess.run([sys.executable, "-m", "pytest", str(test), "-q", "-p", "no:cacheprovider",
                    f"--junitxml={report}"], cwd=ROOT, capture_output=True, text=True)
    import xml.etree.ElementTree as ElementTree
    suite = ElementTree.parse(report).getroot().find("testsuite")
    tried = int(suite.get("tests", 0)) - int(suite.get("skipped", 0))
    return tried, int(suite.get("failures", 0)) + int(suite.get("errors", 0))


def table_rows(tally: Tally, bad: tuple[int, int], seed: int) -> list[tuple[str, str]]:
    rows = [("scenarios run", f"{sum(tally.scenarios.values())} ("
             + ", ".join(f"{b} {n}" for b, n in sorted(tally.scenarios.items())) + ")"),
            ("bot runs (first runs and reruns)", f"{sum(tally.runs.values())} (median "
             f"{statistics.median(tally.run_seconds or [0]):.1f} s a run)"),
            ("work generated", ", ".join(f"{n} {item}" for item, n in sorted(tally.items.items())))]
    rows += [(f"family: {FAMILIES[name][1]} (`{name}`)", f"{tally.families[name]} scenarios, "
              f"{tally.family_violations[name]} violations") for name in FAMILIES if tally.families[name]]
    rows += [(event, str(n)) for event, n in sorted(tally.events.items())]
    rows += [(f"faults injected: {kind}", str(n)) for kind, n in sorted(tally.faults.items())]
    rows += [(f"kill -9 at {point}", str(n)) for point, n in sorted(tally.kills.items())]
    rows.append(("kill -9 in all", f"{sum(tally.kills.values())} (and {sum(tally.kills_missed.values())} "
                 "asked for at a point the run never reached)"))
    if bad[0]:
        rows.append(("bad inputs tried (fixtures/bad/)", f"{bad[0]} checks ({bad[1]} without a clear exit 2)"))
    rows.append(("invariant violations", str(len(tally.violations))))
    rows.append(("seed, wall time", f"{seed}, {tally.seconds / 60:.1f} min"))
    return rows


def markdown(rows, command: str) -> str:
    lines = ["| figure | value |", "|---|---|"] + [f"| {name} | {value} |" for name, value in rows]
    return "\n".join(lines) + f"\n\nReproduce with `{command}` ({datetime.now():%Y-%m-%d}; Debian, 2 cores, " \
                              "Python 3.11, chromium-headless-shell).\n"


def write_readme(text: str) -> None:
    readme = ROOT / "README.md"
    start, end = "<!-- chaos:start -->", "<!-- chaos:end -->"
    content = readme.read_text(encoding="utf-8")
    if start not in content:
        raise SystemExit("README.md has no <!-- chaos:start --> marker")
    head, rest = content.split(start, 1)
    readme.write_text(head + start + "\n" + text + rest[rest.index(end):], encoding="utf-8")


def start_postgres():
    """A throwaway PostgreSQL cluster for `--store postgresql` (the tests' own, tests/postgres.py)."""
    from tests.postgres import Cluster

    cluster = Cluster()
    why = cluster.unavailable()
    if why:
        raise SystemExit(f"--store postgresql: {why}")
    cluster.start()
    return cluster


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", type=int, default=170, help="scenarios per bot (default 170)")
    parser.add_argument("--bot", action="append", choices=sorted(CAMPAIGNS), help="only this bot (repeatable)")
    parser.add_argument("--seed", type=int, default=None, help="replay: the seed a failing scenario printed")
    parser.add_argument("--family", choices=list(FAMILIES), default=None,
                        help="every scenario of this family (default: the mix of chaos/families.py)")
    parser.add_argument("--work-dir", type=Path, default=ROOT / "var" / "chaos")
    parser.add_argument("--json", type=Path, default=None,
                        help="where the JSON copy goes (default reports/chaos/chaos-YYYY-MM-DD.json)")
    parser.add_argument("--no-bad-inputs", action="store_true", help="skip the bad-input corpus")
    parser.add_argument("--readme", action="store_true", help="write the table into README.md (Reliability)")
    parser.add_argument("--quiet", action="store_true", help="print only violations and the table")
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite",
                        help="the campaigns' store: a SQLite file each (default), or a database each on a throwaway "
                             "PostgreSQL cluster (Debian's postgresql; set-up installs it as root)")
    args = parser.parse_args(argv)
    own = args.family in (*RECONCILE_ONLY, "bank_rec_all")
    bots = args.bot or (["reconcile_payments"] if own else sorted(CAMPAIGNS))
    if own and bots != ["reconcile_payments"]:
        parser.error(f"--family {args.family} is a reconcile_payments family; pass --bot reconcile_payments")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**6)
    work = fresh_folder(args.work_dir)
    config, logs = chaos_config(work / "config"), work / "logs"
    lock, started, tally = threading.Lock(), time.monotonic(), Tally()

    def say(text: str) -> None:
        if not args.quiet or text.startswith("VIOLATION"):
            with lock:
                print(text, flush=True)

    postgres = start_postgres() if args.store == "postgresql" else None

    def one(bot: str) -> None:
        campaign = CAMPAIGNS[bot](fresh_folder(work / bot), random.Random(f"{seed}:{bot}"))
        if postgres is not None:
            campaign.postgres = PostgresStore(postgres, postgres.create_database(prefix=f"chaos_{bot[:8]}"))
        try:
            result = play(campaign, args.scenarios, seed, config, logs, say, args.family)
        except Exception as exc:  # a harness failure is a failed campaign, never a silent pass
            result = Tally(violations=[f"{bot}: the campaign stopped: {exc!r} (seed {seed})"])
        with lock:
            tally.merge(result)

    threads = [threading.Thread(target=one, args=(bot,)) for bot in bots]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if postgres is not None:
        postgres.stop()
    tally.seconds = time.monotonic() - started
    bad = (0, 0) if args.no_bad_inputs else bad_inputs()
    rows = table_rows(tally, bad, seed)
    command = "make chaos" if args.scenarios == 170 and not args.bot and not args.family else \
        f"python -m chaos --scenarios {args.scenarios} --seed {seed}" + (
            f" --family {args.family}" if args.family else "") + (
            " --store postgresql" if args.store == "postgresql" else "")
    text = markdown(rows, command)
    print("\n" + text)
    for violation in tally.violations:
        print("VIOLATION", violation)
    out = args.json or ROOT / "reports" / "chaos" / f"chaos-{datetime.now():%Y-%m-%d}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"seed": seed, "rows": rows, "violations": tally.violations,
                               "kills": tally.kills, "faults": tally.faults}, indent=2, ensure_ascii=False))
    if args.readme:
        write_readme(text)
    return 1 if tally.violations or bad[1] else 0


if __name__ == "__main__":
    sys.exit(main())
