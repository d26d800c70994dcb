"""`python -m bots`: a thin shell over the Python API; errors become exit codes here only.

    python -m bots run BOT [--dry-run] [--statement FILE ...]
    python -m bots schedule [--list]
    python -m bots worker [--name NAME]
    python -m bots outputs list|get NAME [--to FILE]
    python -m bots portals [--seed DIR] [--host H] [--port N]
    python -m bots escalations list|resolve ...
    python -m bots doubts list|decide KEY --done|--not-done --note TEXT
    python -m bots bon list [--all] | decide REQ-ID --grant|--refuse --note TEXT [--by NAME]
    python -m bots bon repaid BON-ID --amount N --note TEXT [--by NAME]
    python -m bots esim import FILE [--accept-changes]
    python -m bots esim confirm-refund ORDER --note TEXT [--by NAME]
    python -m bots esim hold-refund ORDER --note TEXT [--by NAME]
    python -m bots esim reissue BATCH
    python -m bots demo
    python -m bots console [--host H] [--port N] [--demo]
    python -m bots users add NAME --role cs|finance|grapari|supervisor | list | disable NAME

Exit codes: 0 finished, 2 bad input or settings, 3 a portal stayed unavailable,
4 another run of the bot holds the lock, 1 anything unexpected.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bots.errors import EXIT_BAD_INPUT, EXIT_UNEXPECTED, BotError

EXIT_CODES = """exit codes:
  0  the run finished (escalations are normal outcomes)
  2  bad input or settings (a clear message; nothing acted on)
  3  a portal stayed unavailable after retries
  4  another run of the same bot holds the lock
  1  anything unexpected"""


def build_parser() -> argparse.ArgumentParser:
    from bots.runner import BOTS

    parser = argparse.ArgumentParser(
        prog="python -m bots", description="Back-office bots for pulsa deposits, supplier complaints and Halo eSIM.",
        epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env-file", help="read settings from this .env file (default: .env, or $BOTS_ENV_FILE)")
    parser.add_argument("--config-dir", help="folder of *.toml settings (default: config/)")
    parser.add_argument("--portals-url", help="base URL of every portal (overrides PORTALS_BASE_URL)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    bots_list = "\n".join(f"  {name:<22} {what}" for name, what in BOTS.items())
    run = commands.add_parser("run", help="one run of one bot", epilog=f"bots:\n{bots_list}\n\n{EXIT_CODES}",
                              formatter_class=argparse.RawDescriptionHelpFormatter,
                              description="Run one bot once against the portals, then print a summary.")
    run.add_argument("bot", metavar="BOT", help="which bot: " + ", ".join(BOTS))
    run.add_argument("--dry-run", action="store_true", help="show the plan; change nothing anywhere")
    run.add_argument("--statement", action="append", default=[], metavar="FILE", type=Path,
                     help="a bank statement export to read instead of downloading (repeatable)")
    run.add_argument("--account", metavar="NUMBER",
                     help="the account of --statement files that do not name it (KlikBCA Bisnis as downloaded)")
    run.add_argument("--accept-old-statement", action="store_true",
                     help="read --statement files older than reconcile_payments.statement_max_age_days on purpose")
    run.add_argument("--result-json", metavar="FILE", type=Path,
                     help="also write the run's result (counts, summary, the plan's rows, reports) as JSON to FILE "
                          "(for the console)")

    schedule = commands.add_parser("schedule", help="the unattended scheduler (Asia/Jakarta times)",
                                   description="Run every bot on its schedule from config/*.toml until stopped.")
    schedule.add_argument("--list", action="store_true", help="print each job and its next run time, then exit")

    worker = commands.add_parser("worker", help="queue mode: run the schedules on this host and any others "
                                                "sharing the PostgreSQL store (Procrastinate)",
                                 description="Run every bot's schedule as one worker among any number of hosts "
                                             "on one PostgreSQL (DATABASE_URL): each fire runs once across "
                                             "them all; a fire whose worker died runs again elsewhere.")
    worker.add_argument("--name", help="this worker's name in the logs and the database (default: the host name)")

    outputs = commands.add_parser("outputs", help="workbooks, batch files and failure captures kept in the store",
                                  description="List or fetch the files the bots wrote on any host (kept in the "
                                              "store beside reports/).")
    output_actions = outputs.add_subparsers(dest="action", required=True, metavar="ACTION")
    output_list = output_actions.add_parser("list", help="the kept files, newest first")
    output_list.add_argument("--kind", help="only this kind: workbook, batch, capture")
    output_get = output_actions.add_parser("get", help="write a kept file out (its newest version)")
    output_get.add_argument("name", metavar="NAME", help="the file's name, e.g. rekonsiliasi-2026-11-23.xlsx")
    output_get.add_argument("--to", type=Path, help="where to write it (default: its name in this folder)")

    portals = commands.add_parser("portals", help="serve the mock world in the foreground",
                                  description="Serve the mock world's portals; prints the base URL first.")
    portals.add_argument("--seed", type=Path, default=Path("fixtures/world"), help="world folder of seed CSVs")
    portals.add_argument("--host", default="127.0.0.1")
    portals.add_argument("--port", type=int, default=8765, help="0 picks a free port")

    escalations = commands.add_parser("escalations", help="finance: list, credit by hand or reject escalations",
                                      description="Close the loop on escalated statement lines.")
    actions = escalations.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="the open escalations (--all: every one)")
    listing.add_argument("--all", action="store_true", help="include resolved and rejected ones")
    resolve = actions.add_parser("resolve", help="credit an escalation to an agent, or reject it")
    resolve.add_argument("id", metavar="ID", help="the escalation: 7 or ESK-7")
    resolve.add_argument("--agent", help="the agent to credit the line's amount to (manual balance add); "
                                         "checked on the transaction server first")
    resolve.add_argument("--amount", type=int, help="credit this many rupiah instead of the line's amount "
                                                    "(the agent sent a different amount; never more than the line)")
    resolve.add_argument("--reject", action="store_true", help="close it without crediting anything "
                                                                "(refused if a balance add for it was already made)")
    resolve.add_argument("--note", required=True, help="why: goes into the balance log and the workbook")

    doubts = commands.add_parser("doubts", help="actions whose outcome the portals cannot show: a person decides",
                                 description="List the journal's actions in doubt (an act whose outcome could "
                                             "not be read back from the portal), and record a person's decision.")
    doubt_actions = doubts.add_subparsers(dest="action", required=True, metavar="ACTION")
    doubt_actions.add_parser("list", help="the actions in doubt, with what the journal knows")
    decide = doubt_actions.add_parser("decide", help="record that an action in doubt happened or did not")
    decide.add_argument("key", metavar="KEY", help="the action's key, as `doubts list` shows it")
    verdict = decide.add_mutually_exclusive_group(required=True)
    verdict.add_argument("--done", action="store_true", help="it happened at the portal (nothing will be redone)")
    verdict.add_argument("--not-done", action="store_true", help="it did not happen (the bot may do it again)")
    decide.add_argument("--note", required=True, help="what you saw at the portal, for the audit trail")

    bon = commands.add_parser("bon", help="Bon / TOP: the supervisor grants or refuses waiting requests; "
                                          "finance marks repayments",
                              description="Requests for saldo on credit the bot left to the supervisor (an "
                                          "open bon, over the limit, an unknown agent): list, grant or refuse "
                                          "them (journaled); record a bon's repayment on the server.")
    bon_actions = bon.add_subparsers(dest="action", required=True, metavar="ACTION")
    bon_list = bon_actions.add_parser("list", help="the requests waiting for the supervisor, with the open bons")
    bon_list.add_argument("--all", action="store_true", help="include granted and refused ones")
    bon_decide = bon_actions.add_parser("decide", help="grant (Tembak Saldo) or refuse (Tolak) one request")
    bon_decide.add_argument("request", metavar="REQ-ID", help="the request, e.g. REQ-0002")
    bon_verdict = bon_decide.add_mutually_exclusive_group(required=True)
    bon_verdict.add_argument("--grant", action="store_true", help="credit the amount asked (once, journaled)")
    bon_verdict.add_argument("--refuse", action="store_true", help="refuse it on the server; nothing credited")
    bon_decide.add_argument("--note", required=True, help="why: goes into the store and the workbook")
    bon_decide.add_argument("--by", help="who decided (default: your login name)")
    bon_repaid = bon_actions.add_parser("repaid", help="record a repayment of a bon on the server (once)")
    bon_repaid.add_argument("bon", metavar="BON-ID", help="the bon, e.g. BON-2611-002 (a granted request's ID)")
    bon_repaid.add_argument("--amount", type=int, required=True, help="the rupiah repaid")
    bon_repaid.add_argument("--note", required=True, help="how it was repaid (kept in the server's note)")
    bon_repaid.add_argument("--by", help="who recorded it (default: your login name)")

    esim = commands.add_parser("esim", help="eSIM: GraPARI's filled-in batch back, refund confirmations, "
                                            "a lost batch file again",
                               description="Import a batch workbook GraPARI filled in (status, MSISDN, "
                                           "activated at): checks it whole, records activations and the "
                                           "7-working-day deposit due dates; confirm an order's refund; "
                                           "reissue a lost batch file.")
    esim_actions = esim.add_subparsers(dest="action", required=True, metavar="ACTION")
    importing = esim_actions.add_parser("import", help="import a filled-in batch-aktivasi-*.xlsx")
    importing.add_argument("file", type=Path, metavar="FILE")
    importing.add_argument("--accept-changes", action="store_true",
                           help="record values that differ from an earlier import (journaled with the old value)")
    confirming = esim_actions.add_parser("confirm-refund", help="a person confirmed an order's refund with the "
                                                                "customer: record it and request the refund")
    confirming.add_argument("order", metavar="ORDER", help="the order, e.g. PSB-2611-002")
    confirming.add_argument("--note", required=True, help="what the customer confirmed (for the audit trail)")
    confirming.add_argument("--by", help="who confirmed it (default: your login name)")
    holding = esim_actions.add_parser("hold-refund", help="a person agreed with the customer on no refund now "
                                                          "(data being fixed, arrears being paid): recorded, "
                                                          "never refunded without a person")
    holding.add_argument("order", metavar="ORDER", help="the order, e.g. PSB-2611-002")
    holding.add_argument("--note", required=True, help="what the customer said (for the audit trail)")
    holding.add_argument("--by", help="who spoke with the customer (default: your login name)")
    reissuing = esim_actions.add_parser("reissue", help="write a lost batch file again from the store "
                                                        "(same content; never a second batch)")
    reissuing.add_argument("batch", metavar="BATCH", help="the batch, e.g. 20261123-01")

    console = commands.add_parser("console", help="the web console (Konsol) for finance, CS, GraPARI and "
                                                  "supervisors",
                                  description="Serve the console; prints its URL first. Needs CONSOLE_SECRET_KEY "
                                              "(.env or the environment) and people (python -m bots users add).")
    console.add_argument("--host", default="127.0.0.1")
    console.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    console.add_argument("--demo", action="store_true",
                         help="start the demo world too, run the bots once, add one demo user per role and print "
                              "their logins (make console)")

    users = commands.add_parser("users", help="the console's people: add, list, disable",
                                description="Personal accounts of the console, each with one role.")
    user_actions = users.add_subparsers(dest="action", required=True, metavar="ACTION")
    adding = user_actions.add_parser("add", help="a new person (password from stdin, or generated and printed once)")
    adding.add_argument("name", metavar="NAME", help="the login name, e.g. ani.finance")
    adding.add_argument("--role", required=True, choices=("cs", "finance", "grapari", "supervisor"))
    user_actions.add_parser("list", help="every person, role and whether active")
    disabling = user_actions.add_parser("disable", help="a person can no longer log in (open sessions end)")
    disabling.add_argument("name", metavar="NAME")

    commands.add_parser("demo", help="start the demo world, run every bot once, print a summary",
                        description="Start the mock world from fixtures/world/, run each bot once, print "
                                    "a summary with the report paths, stop the world.")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "portals":
            from mock_portals.server import serve

            serve(args.seed, args.host, args.port)
            return 0
        settings = _settings(args)
        from bots.logs import setup_logging

        setup_logging(settings.logs_dir, settings.secrets())
        if args.command == "run":
            from bots.console import run_and_report

            if args.account or args.accept_old_statement:  # flags beat config: into the bot's section
                import dataclasses

                own = {**settings.sections.get("reconcile_payments", {})}
                own.update({k: v for k, v in (("statement_account", args.account),
                                              ("accept_old_statements", args.accept_old_statement)) if v})
                settings = dataclasses.replace(settings, sections={**settings.sections, "reconcile_payments": own})
            return run_and_report(args.bot, settings, dry_run=args.dry_run, statements=args.statement,
                                  result_json=args.result_json)
        if args.command == "schedule":
            from bots.scheduler import list_jobs, run_scheduler

            if args.list:
                print(list_jobs(settings))
                return 0
            if settings.schedule_mode == "queue":
                from bots.worker import run_worker

                run_worker(settings)
                return 0
            run_scheduler(settings)
            return 0
        if args.command == "worker":
            from bots.worker import run_worker

            run_worker(settings, name=args.name)
            return 0
        if args.command == "outputs":
            from bots import outputs

            if args.action == "list":
                return outputs.list_command(settings, kind=args.kind)
            return outputs.get_command(settings, args.name, to=args.to)
        if args.command == "escalations":
            from bots import escalations

            if args.action == "list":
                return escalations.list_escalations(settings, show_all=args.all)
            return escalations.resolve(settings, args.id, agent=args.agent, note=args.note, reject=args.reject,
                                       amount=args.amount)
        if args.command == "doubts":
            from bots import doubts

            if args.action == "list":
                return doubts.list_doubts(settings)
            return doubts.decide(settings, args.key, done=args.done, note=args.note)
        if args.command == "bon":
            from bots import bon

            if args.action == "list":
                return bon.list_command(settings, show_all=args.all)
            if args.action == "decide":
                return bon.decide_command(settings, args.request, grant=args.grant, note=args.note, by=args.by)
            return bon.repaid_command(settings, args.bon, amount=args.amount, note=args.note, by=args.by)
        if args.command == "esim":
            if args.action == "confirm-refund":
                from bots.esim.confirm import confirm_refund

                return confirm_refund(settings, args.order, note=args.note, by=args.by)
            if args.action == "hold-refund":
                from bots.esim.confirm import hold_refund

                return hold_refund(settings, args.order, note=args.note, by=args.by)
            if args.action == "reissue":
                from bots.esim.reissue import reissue

                return reissue(settings, args.batch)
            from bots.esim.importer import import_batch

            return import_batch(settings, args.file, accept_changes=args.accept_changes)
        if args.command == "demo":
            from bots.demo import run_demo

            return run_demo(settings)
        if args.command == "console":
            if args.demo:
                from bots.konsol.demo import run_console_demo

                return run_console_demo(settings, args.host, args.port)
            from bots.konsol.app import serve as serve_console

            serve_console(settings, args.host, args.port)
            return 0
        if args.command == "users":
            from bots.konsol import people

            if args.action == "add":
                return people.cli_add(settings, args.name, args.role)
            if args.action == "list":
                return people.cli_list(settings)
            return people.cli_disable(settings, args.name)
    except BotError as exc:
        print(f"error: {_masked(exc)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the one place unexpected errors become exit 1
        from loguru import logger

        logger.opt(exception=exc).error("unexpected error")
        print(f"unexpected error: {type(exc).__name__}: {_masked(exc)} (details in the log)", file=sys.stderr)
        return EXIT_UNEXPECTED
    return EXIT_BAD_INPUT


def _settings(args):
    from bots.settings import load_settings

    overrides = {"PORTALS_BASE_URL": args.portals_url} if args.portals_url else None
    return load_settings(env_file=args.env_file, config_dir=args.config_dir, overrides=overrides)


def _masked(exc: BaseException) -> str:
    from bots.logs import mask

    return mask(str(exc))
