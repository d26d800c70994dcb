"""The control API under `/__mock/`, for tests and demos only (bots never call it).

    GET  state            every table as JSON rows, keyed by table name
    GET  clock            the world's time; POST clock {"set": ISO[, "frozen": true]} or {"advance": "15m"}
    GET  faults           the active fault profile and the count of faults injected so far
    POST faults           {"error_rate", "latency_ms", "drop_rate", "maintenance", "note_limit",
                           "refuse_rate", "portals", "seed", "expire_sessions": true (one-shot)};
                          {} clears the profile
    POST rows/<table>     a row (or a list) in the seed format: a deposit arriving, a new order
    POST gateway/<id>     a gateway payment moves on: {"status": "PAID", "paid_at": "now"} (seed format)

Faults (each limited to the portal keys in "portals" when given; GET faults counts them):

    error_rate   share of requests answered 500 before doing anything            ("error")
    latency_ms   added to every request                                          ("latency")
    drop_rate    share of POSTs that commit, then lose the connection   ("drop_after_commit")
    maintenance  every page is the maintenance page (503)                   ("maintenance")
    note_limit   > 0: the portals store only the first note_limit characters of an action's
                 free text — Otomax's manual balance add note (Keterangan), the supplier
                 complaint message (Pesan), the aggregator refund reason (Alasan); the action
                 itself still happens (a real server keeping 100 characters of a note);
                 counted when a text was actually cut                           ("note_cut")
    refuse_rate  share of action POSTs — Otomax ticket approval ("Setujui"), Otomax manual
                 balance add, Otomax bon grant ("Tembak Saldo": "Bon Tidak Dapat Diberikan"),
                 supplier complaint, aggregator refund request — refused with the
                 portal's own business refusal: a 409/422 page whose heading names it ("Agen
                 Tidak Ditemukan" or "Tiket Ditolak"; "Penambahan Ditolak"; "Komplain
                 Ditolak"; "Refund Ditolak") and a role="alert" text saying why; nothing in
                 the world changes. Rolled only for a request the portal would otherwise
                 carry out (a second approval is still "Tiket Sudah Diproses")   ("refused")
    seed         reseeds the world's random rolls (error, drop, refuse)
"""

from __future__ import annotations

import random
from datetime import datetime

from flask import Flask, jsonify, request

from mock_portals.seed import TABLES, SeedError
from mock_portals.world import JAKARTA, Faults, World, _jsonable_row, parse_duration

_FAULT_FIELDS = {"error_rate": float, "latency_ms": int, "drop_rate": float, "maintenance": bool,
                 "note_limit": int, "refuse_rate": float, "portals": list, "seed": int}


def create_control_app(world: World) -> Flask:
    app = Flask("mock_portals.control")

    def bad(message: str, status: int = 400):
        return jsonify({"error": message}), status

    @app.get("/health")
    def health():
        return jsonify({"ok": True, "now": world.now().isoformat()})

    @app.get("/state")
    def state():
        return jsonify(world.state())

    @app.route("/clock", methods=["GET", "POST"])
    def clock():
        if request.method == "POST":
            body = request.get_json(silent=True) or {}
            try:
                if "set" in body:
                    moment = datetime.fromisoformat(str(body["set"]))
                    world.set_clock(moment if moment.tzinfo else moment.replace(tzinfo=JAKARTA),
                                    frozen=bool(body.get("frozen", False)))
                elif "advance" in body:
                    world.advance_clock(parse_duration(body["advance"]))
                else:
                    return bad('expected {"set": "<ISO time>"} or {"advance": "15m"}')
            except ValueError as exc:
                return bad(str(exc))
        return jsonify({"now": world.now().isoformat()})

    @app.route("/faults", methods=["GET", "POST"])
    def faults():
        if request.method == "POST":
            body = request.get_json(silent=True)
            if not isinstance(body, dict):
                return bad("expected a JSON object")
            settings = {}
            for key, value in body.items():
                if key == "expire_sessions":
                    continue
                if key not in _FAULT_FIELDS:
                    return bad(f"unknown fault {key!r}; known: {', '.join(sorted(_FAULT_FIELDS))}, expire_sessions")
                if value is not None and not isinstance(value, _FAULT_FIELDS[key]) and not (
                        _FAULT_FIELDS[key] is float and isinstance(value, int)):
                    return bad(f"fault {key}: expected {_FAULT_FIELDS[key].__name__}, got {value!r}")
                settings[key] = value
            for rate in ("error_rate", "drop_rate", "refuse_rate"):
                if not 0 <= (settings.get(rate) or 0) <= 1:
                    return bad(f"fault {rate}: expected a share between 0 and 1")
            for count in ("latency_ms", "note_limit"):
                if isinstance(settings.get(count), bool) or (settings.get(count) or 0) < 0:
                    return bad(f"fault {count}: expected a whole number ≥ 0")
            with world.lock:
                world.faults = Faults(**settings)
                if world.faults.seed is not None:
                    world.rng = random.Random(world.faults.seed)
            if body.get("expire_sessions"):
                ended = world.expire_sessions(settings.get("portals"))
                world.count_fault("session_expiry")
                return jsonify({**world.fault_report(), "sessions_ended": ended})
        return jsonify(world.fault_report())

    @app.post("/rows/<table>")
    def rows(table: str):
        if table not in TABLES:
            return bad(f"unknown table {table!r}; known: {', '.join(sorted(TABLES))}", 404)
        body = request.get_json(silent=True)
        given = body if isinstance(body, list) else [body]
        if not all(isinstance(r, dict) for r in given):
            return bad("expected a JSON object (one row) or a list of objects")
        try:
            added = world.append_seed_rows(table, [{k: "" if v is None else str(v) for k, v in r.items()}
                                                   for r in given])
        except SeedError as exc:
            return bad(str(exc))
        return jsonify({"added": len(added)}), 201

    @app.post("/gateway/<payment_id>")
    def gateway_payment(payment_id: str):
        from mock_portals.portals.gateway import pay  # the gateway's own rule for a payment moving on

        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return bad('expected a JSON object like {"status": "PAID", "paid_at": "now"}')
        try:
            return jsonify(_jsonable_row(pay(world, payment_id, {k: "" if v is None else str(v)
                                                                 for k, v in body.items()})))
        except KeyError:
            return bad(f"no gateway payment {payment_id!r}", 404)
        except SeedError as exc:
            return bad(str(exc))

    return app
