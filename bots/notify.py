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


def notifier_for(settings) -> Notifier:
    return AppriseNotifier(settings.notify_urls) if settings.notify_urls else LogOnlyNotifier()


class NotifyOnce:
    """Send a notification exactly once per key: journaled, and after a crash the inbox is
    searched for the message's marker before anything is sent again."""

    def __init__(self, store, notifier: Notifier, bot: str, run_id: str, now, already_sent=lambda marker: False,
                 crash=None):
        from bots.crashpoints import NEVER

        self.store, self.notifier, self.bot, self.run_id, self.now = store, notifier, bot, run_id, now
        self.already_sent, self.crash = already_sent, crash or NEVER

    def __call__(self, key: str, marker: str, title: str, body: str) -> bool:
        """True once the notification is out (now or before); False if it must be retried."""
        action, _ = self.store.record_intent(key, self.bot, "notify", {"marker": marker, "title": title},
                                             self.run_id, self.now())
        if action.state == "done":
            return True
        # "failed" is an unknown outcome too: the message may have arrived before the
        # connection dropped, so a second attempt first looks for it in the inbox
        if action.state in ("in_flight", "failed") and self.already_sent(marker):
            self.store.mark_done(key, {"how": "found in the inbox"}, self.now())
            return True
        self.store.mark_in_flight(key, self.now())
        self.crash("notify:after_in_flight")
        if not self.notifier.send(title, body):
            self.store.mark_failed(key, "the notification service refused it", self.now())
            logger.warning("could not notify {} (will retry next run)", marker)
            return False
        self.crash("notify:after_send")
        self.store.mark_done(key, {"how": "sent"}, self.now())
        if getattr(self.notifier, "configured", True):
            logger.info("notified: {}", title)
        return True
