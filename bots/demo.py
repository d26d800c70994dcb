"""`make demo`: the demo world, every bot once against it, a summary with the report paths."""

from __future__ import annotations

import shutil
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bots.console import print_summary
from bots.errors import BotError, UnknownBot
from bots.runner import BOTS, load_bot, run_bot
from bots.settings import Settings, load_settings

DEMO_WORLD = Path("fixtures/world")
DEMO_ENV = Path("config/demo.env")


def demo_settings(world_url: str, var_dir: Path, overrides: dict | None = None) -> Settings:
    """Settings for the demo world at ``world_url``, with a fresh store under ``var_dir`` and
    notifications going to finance's inbox in the world (the console's demo uses it too)."""
    shutil.rmtree(var_dir, ignore_errors=True)  # a fresh world wants a fresh memory
    overrides = {"PORTALS_BASE_URL": world_url, "VAR_DIR": str(var_dir), "DATABASE_URL": "", **(overrides or {})}
    helpdesk = load_settings(env_file=DEMO_ENV, overrides=overrides).portal("helpdesk")
    # escalations go to finance's inbox in the world; as a setting, so runs the console starts
    # (their own processes, reading the environment) notify there too
    inbox = f"json://{helpdesk.username}:{helpdesk.password}@{world_url.split('://')[1]}/helpdesk/api/messages"
    return load_settings(env_file=DEMO_ENV, overrides={**overrides, "NOTIFY_URLS": inbox})


def run_demo(settings: Settings, world_dir: Path = DEMO_WORLD) -> int:
    from mock_portals.server import WorldServer
    from mock_portals.world import World

    console = Console()
    server = WorldServer(World.from_seed(world_dir)).start()
    console.print(f"mock world from {world_dir} at {server.url}")
    demo = demo_settings(server.url, settings.var_dir / "demo")
    outcome = Table(title="demo", header_style="bold")
    for column in ("bot", "outcome", "reports"):
        outcome.add_column(column, overflow="fold")
    worst = 0
    try:
        for bot in BOTS:
            try:
                load_bot(bot)
            except UnknownBot as exc:
                outcome.add_row(bot, "still to come", str(exc).split(": ", 1)[-1])
                continue
            try:
                result = run_bot(bot, demo)
                print_summary(console, bot, result)
                outcome.add_row(bot, "ok", "\n".join(str(p) for p in result.reports) or "-")
            except BotError as exc:
                worst = max(worst, exc.exit_code)
                outcome.add_row(bot, f"exit {exc.exit_code}", str(exc))
    finally:
        server.stop()
    console.print(outcome)
    return worst

