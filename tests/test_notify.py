"""Notifications through the journal: text from outside stays text in every inbox."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bots.journal import Journal
from bots.notify import NotifyOnce

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("Asia/Jakarta"))


class Inbox:
    configured = True

    def __init__(self):
        self.sent: list[tuple[str, str]] = []

    def send(self, title, body):
        self.sent.append((title, body))
        return True


@pytest.mark.store_backends("sqlite")  # the store is not what this is about (PostgreSQL: make test-pg)
def test_markup_and_control_characters_from_outside_are_text_and_the_marker_is_kept(store):
    store.start_run("esim_activation_queue", "run-1", T0)
    inbox = Inbox()
    titles: list[str] = []
    notify = NotifyOnce(Journal(store, "esim_activation_queue", "run-1", lambda: T0), inbox,
                        lambda fresh: titles)
    assert notify("notify:x", "[PERANGKAT-PSB-1]", "[PERANGKAT-PSB-1] <b>Budi</b>",
                  'Pelanggan <script>alert(1)</script> & "Ani"\x07 menunggu')
    [(title, body)] = inbox.sent
    assert title == "[PERANGKAT-PSB-1] &lt;b&gt;Budi&lt;/b&gt;"
    assert body == 'Pelanggan &lt;script&gt;alert(1)&lt;/script&gt; &amp; "Ani"\\x07 menunggu'
    titles.append(title)  # the inbox has it now: found by its marker, never sent again
    assert notify("notify:x", "[PERANGKAT-PSB-1]", "[PERANGKAT-PSB-1] <b>Budi</b>", "lagi") and len(inbox.sent) == 1
