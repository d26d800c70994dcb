"""Who may do what in the console: one table, enforced by the server on every route.

A view says what it needs with ``@requires("eskalasi.act")``; a person whose role lacks it
gets 403, whatever the page showed them (a hand-made POST included). The navigation only
hides what the role cannot open; hiding is never the protection. README "Console" has the
same table in words.
"""

from __future__ import annotations

from functools import wraps

from flask import abort, g

ROLES = ("cs", "finance", "grapari", "supervisor")

#: permission → the roles that have it (supervisor has everything).
PERMISSIONS: dict[str, frozenset[str]] = {
    "ringkasan.view": frozenset(ROLES),
    "runs.view": frozenset({"cs", "finance", "supervisor"}),
    "runs.start": frozenset({"cs", "finance", "supervisor"}),
    "eskalasi.view": frozenset({"cs", "finance", "supervisor"}),
    "eskalasi.act": frozenset({"finance", "supervisor"}),          # Ambil, Selesaikan, Tolak
    "mutasi.upload": frozenset({"finance", "supervisor"}),
    "esim.view": frozenset({"grapari", "supervisor"}),
    "esim.act": frozenset({"grapari", "supervisor"}),
    "komplain.view": frozenset({"cs", "supervisor"}),
    "komplain.supervise": frozenset({"supervisor"}),                # Komplain's supervisor view
    "ragu.view": frozenset({"finance", "supervisor"}),
    "ragu.decide": frozenset({"supervisor"}),
    "laporan.view": frozenset({"cs", "finance", "supervisor"}),
    "audit.view": frozenset({"supervisor"}),
    "bon.view": frozenset({"finance", "supervisor"}),               # Bon / TOP: finance reads
    "bon.decide": frozenset({"supervisor"}),                        # Setujui / Tolak: the atasan
}

#: The navigation, in order: (label, endpoint, the permission that opens it).
NAVIGATION = (
    ("Ringkasan", "ringkasan.index", "ringkasan.view"),
    ("Riwayat Run", "runs.history", "runs.view"),
    ("Jalankan", "runs.launch_index", "runs.start"),
    ("Eskalasi", "eskalasi.queue", "eskalasi.view"),
    ("Bon / TOP", "bon.index", "bon.view"),
    ("Unggah Mutasi", "mutasi.index", "mutasi.upload"),
    ("eSIM", "esim.index", "esim.view"),
    ("Komplain", "komplain.index", "komplain.view"),
    ("Tindakan Ragu", "ragu.index", "ragu.view"),
    ("Laporan", "laporan.index", "laporan.view"),
    ("Audit", "audit.index", "audit.view"),
)


def may(role: str | None, permission: str) -> bool:
    """Whether ``role`` has ``permission`` (an unknown permission is nobody's)."""
    return role is not None and role in PERMISSIONS.get(permission, frozenset())


def requires(permission: str):
    """Route decorator: 403 unless the logged-in person's role has ``permission``."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    def decorate(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            user = g.get("user")
            if user is None or not may(user.role, permission):
                abort(403)
            return view(*args, **kwargs)

        guarded.permission = permission  # the route test reads it: every view names one
        return guarded

    return decorate
