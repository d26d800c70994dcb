"""`make console`: the demo world, the bots once against it, the console with one person per role.

Prints the console's URL and the demo logins with their passwords (made up for this start
only), then serves until Ctrl-C, which stops the console and the world. The console's portals
are that world, so **Selesaikan** credits an agent there; notifications link to this console.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bots.clock import clock_for
from bots.errors import BotError, UnknownBot
from bots.konsol import people
from bots.konsol.roles import ROLES
from bots.settings import Settings

#: The bots run once before the console opens, so its screens have something to show.
DEMO_BOTS = ("reconcile_payments", "check_pending_tx", "esim_activation_queue")


def demo_people(store, now) -> dict[str, str]:
    """One person per role (`finance.demo`, …) with a fresh password each; login → password."""
    made = {}
    for role in ROLES:
        login, password = f"{role}.demo", people.new_password()
        people.add_person(store, login, role, password, now, "demo")
        made[login] = password
    return made


def run_console_demo(settings: Settings, host: str = "127.0.0.1", port: int = 8000,
                     world_dir: Path = Path("fixtures/world")) -> int:
    from bots.demo import demo_settings
    from bots.konsol.app import ConsoleServer, create_app, stop_on_sigterm
    from bots.runner import load_bot, run_bot
    from mock_portals.server import WorldServer
    from mock_portals.world import World

    stop_on_sigterm()
    say = Console()
    world = WorldServer(World.from_seed(world_dir)).start()
    console = None
    try:
        secret = settings.env.get("CONSOLE_SECRET_KEY") or secrets.token_hex(32)
        bound = ConsoleServer.bind(host, port)  # the port first: notifications link to it
        demo = demo_settings(world.url, settings.var_dir / "konsol-demo",
                             {"CONSOLE_SECRET_KEY": secret, "CONSOLE_URL": bound.url})
        say.print(f"mock world from {world_dir} at {world.url}; running the bots once …")
        for bot in DEMO_BOTS:
            try:
                load_bot(bot)
                run_bot(bot, demo)
                say.print(f"  {bot}: ok")
            except UnknownBot:
                continue
            except BotError as exc:
                say.print(f"  {bot}: exit {exc.exit_code} ({exc})")
        app = create_app(demo)
        logins = demo_people(app.extensions["konsol"].store, clock_for(demo).now())
        console = bound.serving(app)
        table = Table(title=f"Konsol: {console.url}", header_style="bold")
        for column in ("Nama pengguna", "Kata sandi", "Peran"):
            table.add_column(column)
        for login, password in logins.items():
            table.add_row(login, password, login.split(".")[0])
        say.print(table)
        say.print(f"Open {console.url} and log in; Ctrl-C stops the console and the world.")
        say.print(f"More people for this console: VAR_DIR={demo.var_dir} python -m bots --env-file config/demo.env "
                  "users add NAME --role cs|finance|grapari|supervisor", soft_wrap=True, highlight=False)
        console.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        if console is not None:
            console.server.close()
        world.stop()
    return 0
