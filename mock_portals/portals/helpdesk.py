"""`/helpdesk/`: finance's inbox, where escalations arrive (apprise's `json://` posts here)."""

from __future__ import annotations

import base64
import binascii

from flask import jsonify, request

from mock_portals.framework import Column, Portal
from mock_portals.world import World

COLUMNS = [Column("No", "id"), Column("Diterima", "created_at", "time"), Column("Jenis", "type"),
           Column("Judul", "title"), Column("Isi", "body")]


def build(world: World, key: str, title: str) -> Portal:
    portal = Portal(world, key, title, nav=[("Kotak Masuk", "inbox")])
    portal.csrf_exempt = {"receive"}

    @portal.page("/")
    def home():
        messages = world.table("helpdesk_messages")
        return portal.render("home.html", cards=[("Pesan masuk", len(messages))])

    @portal.page("/pesan")
    def inbox():
        rows = sorted(world.table("helpdesk_messages"), key=lambda m: m["id"], reverse=True)
        query = request.args.get("q", "").strip().lower()
        if query:
            rows = [m for m in rows if query in (m["title"] + " " + m["body"]).lower()]
        return portal.listing("Kotak Masuk", COLUMNS, rows,
                              filters=[{"name": "q", "label": "Cari"}])

    @portal.page("/api/messages", methods=["POST"], login=False)
    def receive():
        # apprise's json:// notifier: HTTP basic auth, body {"title", "message", "type", ...}
        user = _basic_auth(world, key)
        if user is None:
            return jsonify({"error": "autentikasi diperlukan"}), 401, {"WWW-Authenticate": 'Basic realm="helpdesk"'}
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not str(body.get("message", "")).strip():
            return jsonify({"error": "pesan kosong"}), 400
        with world.lock:
            row = world.record("helpdesk_messages", id=len(world.table("helpdesk_messages")) + 1,
                               sender=user, type=str(body.get("type", "info")),
                               title=str(body.get("title", "")), body=str(body["message"]))
        return jsonify({"id": row["id"]}), 201

    return portal


def _basic_auth(world: World, key: str) -> str | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return None
    try:
        username, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return username if world.check_password(key, username, password) else None
