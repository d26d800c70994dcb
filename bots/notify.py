"""Notifications to people (finance's helpdesk, e-mail, chat) through apprise.

A `Notifier` is one method wide, so tests and dry runs can swap it. The apprise URLs come
from settings (`NOTIFY_URLS`); with none configured, notifications are recorded in the log
only, and the summary says so.
"""

from __future__ import annotations

from typing import Protocol

from loguru import logger


class Notifier(Protocol):
    def send(self, title: str, body: str) -> bool: ...


class AppriseNotifier:
    configured = True

    def __init__(self, urls: tuple[str, ...]):
        import apprise

        self.urls = urls
        self._apprise = apprise.Apprise()
        for url in urls:
            if not self._apprise.add(url):
                from bots.errors import ConfigError

                raise ConfigError("NOTIFY_URLS", "apprise URLs apprise understands", "<hidden>")

    def send(self, title: str, body: str) -> bool:
        return bool(self._apprise.notify(title=title, body=body))


class LogOnlyNotifier:
    """No NOTIFY_URLS: the escalation stays in the store and the workbook; the log says so."""

    configured = False

    def send(self, title: str, body: str) -> bool:
        logger.warning("no NOTIFY_URLS set: finance not notified of {}", title)
        return True


def _plain(text: str) -> str:
    import html

    from bots.workbook import visible

    return html.escape(visible(text), quote=False)


def notifier_for(settings) -> Notifier:
    return AppriseNotifier(settings.notify_urls) if settings.notify_urls else LogOnlyNotifier()


class NotifyOnce:
    """Send a notification exactly once per key, through the run's journal: the inbox (when
    one can be read) is searched for the message's marker before anything is sent."""

    def __init__(self, journal, notifier: Notifier, inbox=None):
        """``inbox(fresh)`` gives the titles already received, or is None (cannot be read)."""
        self.journal, self.notifier, self.inbox = journal, notifier, inbox

    def __call__(self, key: str, marker: str, title: str, body: str) -> bool:
        """True once the notification is out (now or before); False if it must wait (retried
        next run, or in doubt for a person)."""
        from bots.errors import PortalUnavailable
        from bots.journal import Effect, Unreadable

        configured = getattr(self.notifier, "configured", True)
        # text from outside (a description, a customer's name) is text in every inbox: its
        # markup escaped, its control characters shown; markers ([BOT:…], [SPV-…]) are untouched
        title, body = _plain(title), _plain(body)

        def check(fresh: bool):
            if not configured:
                return None  # nothing is ever sent: nothing to find, and logging again is harmless
            if self.inbox is None:
                return Unreadable("there is no inbox to read back (no helpdesk portal configured)")
            return {"how": "found in the inbox"} if any(marker in t for t in self.inbox(fresh)) else None

        def act() -> dict:
            if not self.notifier.send(title, body):
                raise PortalUnavailable("notify", f"the notification service did not take {marker}")
            if configured:
                logger.info("notified: {}", title)
            return {"how": "sent" if configured else "not sent: NOTIFY_URLS not set (log only)"}

        effect = Effect(key, "notify", {"marker": marker, "title": title}, check, act, marker=marker,
                        point="notify", act_point="after_send")
        try:
            return self.journal.once(effect).done
        except PortalUnavailable as exc:
            logger.warning("could not notify {} ({}); the next run tries again", marker, exc)
            return False
