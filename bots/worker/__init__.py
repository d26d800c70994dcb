"""Queue mode: `python -m bots worker` on any number of hosts sharing one PostgreSQL.

Procrastinate 3 (a job queue in PostgreSQL tables) carries the schedules:

- **One fire, one job.** Every worker defers each bot's periodic fires; PostgreSQL keeps one
  job per (bot's schedule line, fire time) whichever workers defer it, and a queueing lock
  per bot keeps at most one fire waiting (the scheduler's "coalesce"). A job lock per bot
  keeps runs from overlapping across hosts.
- **Each fire runs the bot in a process of its own** — `python -m bots run BOT`, as the
  scheduler does — so the bot's run lock (a PostgreSQL advisory lock), its fencing and its
  journal stay the exactly-once guard. The engine gives at-least-once: a fire may run twice
  (a retried job), never an act.
- **Stalled jobs are retried.** Workers send a heartbeat every few seconds; every worker
  looks for jobs of workers silent for `STALLED_AFTER` seconds (killed, cut off) and puts
  them back in the queue, or, when that bot's next fire already waits, lets that one stand
  for it. A job whose worker died runs again within about half a minute.
- **Browser slots.** At most `browser_slots` runs drive Chromium at once across every host:
  a run first takes one of that many PostgreSQL advisory locks (freed by the server when
  the holder's session ends, a dead host's included).
- **Jakarta time.** Procrastinate's cron is UTC; bots/worker/cron.py converts.

The worker survives the database going away (a restart, a cut cable): it logs, waits and
starts again.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import signal
import socket
import sys
import time
from dataclasses import dataclass

from loguru import logger

from bots.errors import ConfigError
from bots.settings import Schedule, Settings
from bots.worker.cron import every_crons, utc_crons

QUEUE = "bots"
TASK = "bots.run"
HEARTBEAT_SECONDS = 5.0
STALLED_AFTER = 20.0          # a worker silent this long is taken for dead: its jobs go back
STALLED_CHECK_SECONDS = 5.0
POLL_SECONDS = 1.0
WATCH_SECONDS = 2.0           # how often a running fire checks its browser slot's session
RESTART_AFTER_SECONDS = 2.0   # the database went away: wait this long, then start again
#: The first key of the browser-slot advisory locks (the run locks use 7337, bots/lock.py).
SLOT_NAMESPACE = 7338


@dataclass(frozen=True)
class Fire:
    """One periodic schedule line of one bot, in UTC, as Procrastinate reads it."""

    bot: str
    periodic_id: str
    cron: str


def fires(schedules: dict[str, Schedule], tz) -> list[Fire]:
    """Every bot's schedule as UTC cron lines (pure: the bots given, their schedules, the zone)."""
    out = []
    for bot, schedule in schedules.items():
        key = f"schedule.jobs.{bot}"
        if schedule.every_seconds:
            lines = every_crons(schedule.every_seconds, tz, key + ".every")
        else:
            lines = utc_crons(schedule.cron or "", tz, key + ".cron")
        out += [Fire(bot, bot if len(lines) == 1 else f"{bot}#{n}", line) for n, line in enumerate(lines, 1)]
    return out


def conninfo(database_url: str) -> str:
    """The libpq address of the store's PostgreSQL; ConfigError (exit 2) for any other store."""
    from sqlalchemy.engine import make_url

    try:
        url = make_url(database_url)
    except Exception:  # noqa: BLE001 - any unreadable URL is the same bad setting
        raise ConfigError("DATABASE_URL", "a postgresql+psycopg:// URL", "<unreadable>") from None
    if url.get_backend_name() != "postgresql":
        raise ConfigError("DATABASE_URL", "a postgresql+psycopg:// URL: the queue mode (python -m bots worker) "
                                          "keeps its jobs in the PostgreSQL every host shares",
                          url.get_backend_name())
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


#: libpq keepalives: a host cut off is noticed in seconds, not after the kernel's two hours.
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3,
              "tcp_user_timeout": 15000, "connect_timeout": 10}
#: A browser slot's session: a cut cable fails its next check within ~5 s (see browser_slot.watch)
SLOT_KEEPALIVES = {**KEEPALIVES, "keepalives_idle": 2, "keepalives_interval": 1, "keepalives_count": 2,
                   "tcp_user_timeout": 5000}


def build_app(settings: Settings, name: str, env_args: list[str]):
    """The Procrastinate app: one task (run a bot), one periodic line per bot schedule line."""
    import procrastinate

    from bots.scheduler import scheduled_bots

    address = conninfo(settings.database_url)
    connector = procrastinate.PsycopgConnector(conninfo=address, kwargs={**KEEPALIVES,
                                               "application_name": f"bots-worker:{name}"[:63]},
                                               min_size=2, max_size=8)
    app = procrastinate.App(connector=connector, periodic_defaults={"max_delay": settings.misfire_grace_seconds})

    @app.task(name=TASK, queue=QUEUE, pass_context=True)
    async def run(context, bot: str, timestamp: int) -> int:
        return await run_fire(address, settings.browser_slots, name, env_args, bot, timestamp,
                              job_id=context.job.id, attempts=context.job.attempts)

    for fire in fires(scheduled_bots(settings), settings.tz):
        app.periodic(cron=fire.cron, periodic_id=fire.periodic_id, queueing_lock=fire.bot, lock=fire.bot,
                     task_kwargs={"bot": fire.bot})(run)
    return app


async def run_fire(address: str, slots: int, name: str, env_args: list[str], bot: str, timestamp: int,
                   *, job_id: int | None, attempts: int) -> int:
    """One fire: take a browser slot, run `python -m bots run BOT` in its own process, log how it ended."""
    from bots.scheduler import run_command

    lag = time.time() - timestamp
    again = f", attempt {attempts + 1}" if attempts else ""
    logger.info("worker {}: {} (fire of {:%H:%M:%S} UTC, {:.1f} s late{}) waits for a browser slot", name, bot,
                _utc(timestamp), lag, again)
    async with browser_slot(address, slots, f"bots-job:{name}:{bot}:{job_id}") as slot:
        process = await asyncio.create_subprocess_exec(*run_command(bot, env_args), stdout=asyncio.subprocess.DEVNULL,
                                                       preexec_fn=_die_with_parent)
        watch = asyncio.create_task(slot.watch(process, f"worker {name}: {bot}"))
        try:
            code = await process.wait()
        finally:
            watch.cancel()
            if process.returncode is None:
                # the job was cancelled under the run (the worker starts a new life when the database
                # goes away): the slot goes with this block, so the run and its browser go too
                logger.warning("worker {}: {} stopped with its job (the worker is starting again)", name, bot)
                kill_tree(process.pid)
    if code == 0:
        logger.info("worker {}: {} finished", name, bot)
    elif code == 4:
        logger.info("worker {}: {} skipped — another run holds the bot's lock", name, bot)
    else:
        logger.warning("worker {}: {} ended with exit code {}", name, bot, code)
    return code


class browser_slot:
    """One of `slots` PostgreSQL advisory locks, held on a session of its own while a run goes.

    The session is named `application_name` so the cluster proof (and a person) can see which
    worker runs what; the server frees the lock when the session ends, however it ends.
    """

    def __init__(self, address: str, slots: int, label: str):
        self.address, self.slots, self.label = address, slots, label[:63]
        self.conn = None

    async def __aenter__(self):
        import psycopg

        while True:
            try:
                self.conn = await psycopg.AsyncConnection.connect(self.address, autocommit=True,
                                                                  application_name=self.label, **SLOT_KEEPALIVES)
                while True:
                    for slot in range(self.slots):
                        got = await (await self.conn.execute("SELECT pg_try_advisory_lock(%s, %s)",
                                                             (SLOT_NAMESPACE, slot))).fetchone()
                        if got and got[0]:
                            return self
                    await asyncio.sleep(0.5)
            except psycopg.OperationalError as exc:
                logger.warning("worker: the store is unreachable for a browser slot ({}); again in {} s",
                               str(exc).splitlines()[0] if str(exc) else type(exc).__name__, RESTART_AFTER_SECONDS)
                await self.__aexit__()
                await asyncio.sleep(RESTART_AFTER_SECONDS)

    async def watch(self, process, what: str) -> None:
        """While the run goes: if the slot's session ends under it (the server restarted, this host
        was cut off), the slot may be someone else's now — stop the run and its browser at once
        (its journal makes a kill safe; its own run lock went with the server's sessions).

        A cut cable is seen by the kernel, not by a timer of ours: the slot's session has short
        TCP keepalives and a user timeout (SLOT_KEEPALIVES), so a check unanswered for ~5 s fails,
        before the server (keepalives of ~11 s) gives the slot away. A busy machine still answers
        TCP, so a slow check is never taken for a lost session, and no query is ever cancelled
        under the driver."""
        import psycopg

        while True:
            await asyncio.sleep(WATCH_SECONDS)
            try:
                await self.conn.execute("SELECT 1")
            except (psycopg.Error, OSError) as exc:
                logger.warning("{}: its browser slot's session is gone ({}); the run and its browser are stopped "
                               "(the next fire takes it up)", what, str(exc).splitlines()[0] if str(exc) else
                               type(exc).__name__)
                kill_tree(process.pid)
                return

    async def __aexit__(self, *exc_info):
        if self.conn is not None:
            try:
                await self.conn.close()  # the session ends, and its slot with it
            except Exception:  # noqa: BLE001 - a dead session has freed its slot already
                pass
            self.conn = None


async def retry_stalled(app, name: str) -> None:
    """Forever: jobs of workers silent for STALLED_AFTER seconds go back to the queue.

    When the bot's next fire already waits (its queueing lock), the stalled job cannot go back
    beside it; it is closed as failed and the waiting fire runs instead — the same work, since
    a run reads the world as it is now.
    """
    from procrastinate import exceptions
    from procrastinate.jobs import Status

    while True:
        await asyncio.sleep(STALLED_CHECK_SECONDS)
        try:
            stalled = await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER)
        except exceptions.ConnectorException:
            continue
        for job in stalled:
            bot = job.task_kwargs.get("bot")
            try:
                await app.job_manager.retry_job(job)
                logger.warning("worker {}: job {} ({}) was on a worker that stopped answering; back in the queue",
                               name, job.id, bot)
            except exceptions.UniqueViolation:
                await _close_replaced(app, job, Status.FAILED, name, bot)
            except exceptions.ConnectorException:
                pass  # another worker retried it first


async def _close_replaced(app, job, status, name: str, bot) -> None:
    from procrastinate import exceptions

    try:
        await app.job_manager.finish_job(job, status=status, delete_job=False)
        logger.warning("worker {}: job {} ({}) was on a worker that stopped answering; its next fire, already "
                       "waiting, runs instead", name, job.id, bot)
    except exceptions.ConnectorException:
        pass


async def ensure_schema(address: str) -> None:
    """Procrastinate's tables, once: the first worker ever creates them (others wait for it)."""
    import psycopg
    from procrastinate import schema

    async with await psycopg.AsyncConnection.connect(address, autocommit=True, **KEEPALIVES) as conn:
        await conn.execute("SELECT pg_advisory_lock(%s, -1)", (SLOT_NAMESPACE,))
        try:
            found = await (await conn.execute("SELECT to_regclass('procrastinate_jobs')")).fetchone()
            if found[0] is None:
                logger.info("worker: creating the queue's tables (Procrastinate schema)")
                await conn.execute(schema.SchemaManager.get_schema())
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s, -1)", (SLOT_NAMESPACE,))


def run_worker(settings: Settings, *, name: str | None = None, env_args: list[str] | None = None) -> None:
    """`python -m bots worker`: run until SIGINT/SIGTERM; start again whenever the database goes away."""
    from bots.scheduler import env_args_from_argv
    from bots.store import Store

    name = name or socket.gethostname()
    env_args = env_args if env_args is not None else env_args_from_argv()
    address = conninfo(settings.database_url)  # a bad store stops here, exit 2, before anything runs
    store = Store(settings.database_url)
    store.migrate()
    store.dispose()
    asyncio.run(_serve(settings, name, env_args, address))


class _ToLoguru(logging.Handler):
    """Procrastinate logs through `logging`: its warnings go to our logs (masked, JSON file),
    one line each — a database error's traceback says nothing a person can act on."""

    def emit(self, record: logging.LogRecord) -> None:
        cause = f" ({record.exc_info[1]!r})" if record.exc_info and record.exc_info[1] else ""
        logger.log(record.levelname if record.levelno >= logging.WARNING else "DEBUG",
                   "procrastinate: {}{}", " ".join(record.getMessage().split()), cause)


async def _serve(settings: Settings, name: str, env_args: list[str], address: str) -> None:
    from bots.scheduler import scheduled_bots

    engine_log = logging.getLogger("procrastinate")
    engine_log.handlers[:] = [_ToLoguru()]
    engine_log.setLevel(logging.INFO)
    engine_log.propagate = False

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    bots = scheduled_bots(settings)
    lines = "\n".join(f"  {f.bot:<24}{f.cron:<26}(UTC)" for f in fires(bots, settings.tz))
    logger.info("worker {} started ({} bots, {} browser slots across the cluster); periodic fires:\n{}",
                name, len(bots), settings.browser_slots, lines)
    while not stop.is_set():
        try:
            await ensure_schema(address)
            await _one_life(settings, name, env_args, stop)
        except Exception as exc:  # noqa: BLE001 - the database went away: wait, then again
            logger.warning("worker {}: stopped by {}: {}; starting again in {} s", name, type(exc).__name__,
                           str(exc).splitlines()[0] if str(exc) else "", RESTART_AFTER_SECONDS)
        if not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), RESTART_AFTER_SECONDS)
            except asyncio.TimeoutError:
                pass
    logger.info("worker {} stopped", name)


async def _one_life(settings: Settings, name: str, env_args: list[str], stop: asyncio.Event) -> None:
    """One Procrastinate worker, from open to close; returns when asked to stop or when it fails."""
    app = build_app(settings, name, env_args)
    async with app.open_async():
        worker = asyncio.create_task(app.run_worker_async(
            queues=[QUEUE], name=name, concurrency=max(2, len(app.periodic_registry.periodic_tasks)),
            install_signal_handlers=False, update_heartbeat_interval=HEARTBEAT_SECONDS,
            stalled_worker_timeout=STALLED_AFTER, delete_jobs="never",
            # a job waiting behind its bot's lock gets no notification when the lock frees: poll often
            fetch_job_polling_interval=POLL_SECONDS))
        janitor = asyncio.create_task(retry_stalled(app, name))
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({worker, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            janitor.cancel()
            if not worker.done():
                worker.cancel()  # a graceful stop: the runs going are waited for
            await asyncio.gather(worker, janitor, return_exceptions=True)
            stopping.cancel()
        if worker.done() and not worker.cancelled() and worker.exception():
            raise worker.exception()  # type: ignore[misc]


def kill_tree(pid: int) -> None:
    """SIGKILL a run and everything it started. Playwright starts Chromium in a process group of
    its own, so a group kill would leave the browser running: the tree is walked by parent."""
    import psutil

    try:
        root = psutil.Process(pid)
        tree = root.children(recursive=True) + [root]
    except psutil.NoSuchProcess:
        return
    for process in tree:  # never waited for here: the worker's own wait() reaps the run
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass


def _die_with_parent() -> None:
    """In the child: end when the worker ends (a worker killed with -9 leaves no bot behind)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _utc(timestamp: int):
    from datetime import datetime, timezone

    return datetime.fromtimestamp(timestamp, timezone.utc)
