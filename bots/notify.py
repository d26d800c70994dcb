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
