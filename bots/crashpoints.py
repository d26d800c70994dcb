"""Named points of the act protocol where tests (and the chaos harness) kill the process.

`BOTS_CRASH_AT=approve:after_click` (optionally `@N`: the N-th time the point is reached)
makes the run kill itself with SIGKILL there — no cleanup, no flush, like a power cut —
so tests can prove a rerun finishes the work without doing anything twice. Unset in real
use; a point costs one comparison.
"""

from __future__ import annotations

import os
import signal

POINTS = (
    "approve:after_intent", "approve:after_in_flight", "approve:after_click", "approve:after_done",
    "notify:after_intent", "notify:after_in_flight", "notify:after_send", "notify:after_done",
    "complaint:after_intent", "complaint:after_in_flight", "complaint:after_send", "complaint:after_done",
    "manual:after_intent", "manual:after_in_flight", "manual:after_add", "manual:after_done",
    "refund:after_intent", "refund:after_in_flight", "refund:after_send", "refund:after_done",
    "batch:after_intent", "batch:after_in_flight", "batch:after_write", "batch:after_done",
    "bon:after_intent", "bon:after_in_flight", "bon:after_click", "bon:after_done",
)


class CrashPoints:
    def __init__(self, spec: str | None):
        self.point, _, nth = (spec or "").partition("@")
        self.remaining = int(nth) if nth else 1

    def __call__(self, point: str) -> None:
        if point != self.point:
            return
        self.remaining -= 1
        if self.remaining <= 0:
            os.kill(os.getpid(), signal.SIGKILL)


NEVER = CrashPoints(None)
