"""Portal check: is every configured portal up, and does it accept our login?

What an operator does before the day starts: open each portal, log in, see the home page.
A portal that fails is reported with its screenshot; the run ends with exit 3 if any failed,
so the scheduler's log and the staff's terminal both say so.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from loguru import logger

from bots.errors import ConfigError, PortalUnavailable
from bots.portals.base import PortalPage
from bots.runner import RunContext, RunResult

NAME = "portal_check"


@dataclass(frozen=True)
class PortalStatus:
    key: str
    ok: bool
    seconds: float
    detail: str


def required_portals(settings) -> list[str]:
    return settings.configured_portals()


def run(ctx: RunContext) -> RunResult:
    statuses = collect(ctx)
    return report(statuses)


def collect(ctx: RunContext) -> list[PortalStatus]:
    statuses = []
    keys = required_portals(ctx.settings)
    with ctx.track("checking portals", len(keys)) as progress:
        for key in keys:
            statuses.append(check_one(ctx, key))
            progress.advance()
    return statuses


def check_one(ctx: RunContext, key: str) -> PortalStatus:
    portal = ctx.portal(PortalPage, key)
    started = time.perf_counter()
    try:
        portal.open("/")
        detail = portal.heading()
        ok = True
    except (PortalUnavailable, ConfigError) as exc:
        ok, detail = False, str(exc)
    status = PortalStatus(key, ok, time.perf_counter() - started, detail)
    logger.info("portal {}: {} in {:.2f}s — {}", key, "OK" if ok else "FAILED", status.seconds, detail)
    return status


def report(statuses: list[PortalStatus]) -> RunResult:
    failed = [s for s in statuses if not s.ok]
    result = RunResult(
        counts={"portals": len(statuses), "ok": len(statuses) - len(failed), "failed": len(failed)},
        summary=[("Portals checked", str(len(statuses))), ("Failed", str(len(failed)))],
        detail_header=["Portal", "Status", "Seconds", "Detail"],
        details=[[s.key, "OK" if s.ok else "GAGAL", f"{s.seconds:.2f}", s.detail] for s in statuses],
    )
    if failed:
        raise PortalUnavailable(", ".join(s.key for s in failed), "did not pass the check")
    return result


if __name__ == "__main__":
    from bots.cli import main

    raise SystemExit(main(["run", NAME]))
