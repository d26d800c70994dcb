"""The Halo eSIM portals: Web Indiana (orders), the payment aggregator, Dukcapil and ISMARA.

`/indiana/`: PSB Halo eSIM orders with the customer's data, and their CSV export.
`/aggregator/`: payments per order (+ export); its deposits (setoran) of upfront and eSIM fee
into activated MSISDNs (`/setoran` + export); refund requests (a form that is **not**
idempotent, like the real one) and their list (+ export). Under the `refuse_rate` fault a
request the form would take is refused ("Refund Ditolak", 422, nothing recorded); under
`note_limit` only the start of its reason is kept.
`/dukcapil/`: NIK lookup (found: KK and name; or not found). `/ismara/`: arrears by NIK.
Lookups are POSTs: a NIK in a URL ends up in every proxy's log.
"""

from __future__ import annotations

import re

from flask import request

from mock_portals.framework import Column, Portal, rupiah
from mock_portals.portals.otomax_deposits import csv_answer
from mock_portals.world import World

ORDER_CSV = ("order_id", "submitted_at", "sales_agent", "customer_name", "nik", "kk", "phone", "email", "device",
             "package", "upfront_amount", "esim_fee", "payment_method", "form_completed")
ORDER_COLUMNS = [Column("ID Pesanan", "order_id"), Column("Diajukan", "submitted_at", "time"),
                 Column("Sales", "sales_agent"), Column("Pelanggan", "customer_name"), Column("Paket", "package"),
                 Column("Perangkat", "device"), Column("Upfront", "upfront_amount", "rupiah"),
                 Column("Biaya eSIM", "esim_fee", "rupiah"), Column("Metode Bayar", "payment_method"),
                 Column("Formulir", "form")]
PAYMENT_CSV = ("order_id", "amount", "paid_at", "channel")
PAYMENT_COLUMNS = [Column("ID Pesanan", "order_id"), Column("Nominal", "amount", "rupiah"),
                   Column("Dibayar", "paid_at", "time"), Column("Kanal", "channel")]
REFUND_CSV = ("order_id", "amount", "reason", "reference", "created_at")
REFUND_COLUMNS = [Column("ID Pesanan", "order_id"), Column("Nominal", "amount", "rupiah"),
                  Column("Alasan", "reason"), Column("Referensi", "reference"), Column("Diajukan", "created_at", "time")]
DEPOSIT_CSV = ("order_id", "msisdn", "amount", "deposited_at", "reference")
DEPOSIT_COLUMNS = [Column("ID Pesanan", "order_id"), Column("MSISDN", "msisdn"), Column("Nominal", "amount", "rupiah"),
                   Column("Disetor", "deposited_at", "time"), Column("Referensi", "reference")]
REFUND_FIELDS = [{"label": "ID Pesanan", "name": "order_id"}, {"label": "Nominal", "name": "amount"},
                 {"label": "Alasan", "name": "reason"}, {"label": "Referensi", "name": "reference"}]
AMOUNT = re.compile(r"^\d{1,3}(\.\d{3})+$|^\d+$")


def build_indiana(world: World, key: str, title: str) -> Portal:
    portal = Portal(world, key, title, nav=[("PSB Halo eSIM", "orders")])

    def rows(args) -> list[dict]:
        since = args.get("since", "").strip()
        query = args.get("q", "").strip().lower()
        found = [{**o, "form_completed": "ya" if o["form_completed"] else "tidak",
                  "form": "Lengkap" if o["form_completed"] else "Belum"}
                 for o in world.table("esim_orders")
                 if (not since or o["submitted_at"].date().isoformat() >= since)
                 and (not query or query in o["order_id"].lower() or query in o["customer_name"].lower())]
        return sorted(found, key=lambda o: o["submitted_at"], reverse=True)

    @portal.page("/")
    def home():
        return portal.render("home.html", cards=[("Pesanan PSB Halo eSIM", len(world.table("esim_orders")))])

    @portal.page("/pesanan")
    def orders():
        return portal.listing("PSB Halo eSIM", ORDER_COLUMNS, rows(request.args),
                              filters=[{"name": "q", "label": "ID pesanan atau pelanggan"}],
                              export=f"{request.script_root}/pesanan/unduh")

    @portal.page("/pesanan/unduh")
    def orders_export():
        return csv_answer(rows(request.args), ORDER_CSV, "psb-halo-esim", world.now())

    return portal


def build_aggregator(world: World, key: str, title: str) -> Portal:
    portal = Portal(world, key, title, nav=[("Pembayaran", "payments"), ("Setoran", "deposits"), ("Refund", "refunds"),
                                           ("Ajukan Refund", "request_refund")])

    def deposit_rows() -> list[dict]:
        # a deposit dated later than the world's clock has not happened yet
        now = world.now()
        return [d for d in world.table("esim_deposits") if d["deposited_at"] <= now]

    @portal.page("/setoran")
    def deposits():
        return portal.listing("Setoran Upfront ke GraPARI", DEPOSIT_COLUMNS, list(reversed(deposit_rows())),
                              export=f"{request.script_root}/setoran/unduh")

    @portal.page("/setoran/unduh")
    def deposits_export():
        return csv_answer(deposit_rows(), DEPOSIT_CSV, "setoran", world.now())

    @portal.page("/")
    def home():
        return portal.render("home.html", cards=[("Pembayaran", len(world.table("esim_payments"))),
                                                 ("Permintaan refund", len(world.table("refund_requests")))])

    @portal.page("/pembayaran")
    def payments():
        return portal.listing("Pembayaran", PAYMENT_COLUMNS, list(reversed(world.table("esim_payments"))),
                              export=f"{request.script_root}/pembayaran/unduh")

    @portal.page("/pembayaran/unduh")
    def payments_export():
        return csv_answer(world.table("esim_payments"), PAYMENT_CSV, "pembayaran", world.now())

    @portal.page("/refund")
    def refunds():
        return portal.listing("Permintaan Refund", REFUND_COLUMNS, list(reversed(world.table("refund_requests"))),
                              export=f"{request.script_root}/refund/unduh")

    @portal.page("/refund/unduh")
    def refunds_export():
        return csv_answer(world.table("refund_requests"), REFUND_CSV, "refund", world.now())

    @portal.page("/refund/ajukan", methods=["GET", "POST"])
    def request_refund():
        if request.method == "GET":
            return portal.render("form.html", title="Ajukan Refund", fields=REFUND_FIELDS, button="Ajukan Refund",
                                 intro="Setiap pengajuan dicatat sebagai permintaan baru.")
        order_id = request.form.get("order_id", "").strip()
        amount, reason = request.form.get("amount", "").strip(), request.form.get("reason", "").strip()
        if not any(o["order_id"] == order_id for o in world.table("esim_orders")):
            return portal.message("Pesanan Tidak Ditemukan", f"Pesanan {order_id} tidak dikenal.", status=404)
        if not AMOUNT.match(amount) or int(amount.replace(".", "")) <= 0:
            return portal.message("Gagal", "Nominal harus bilangan bulat rupiah lebih dari nol.", status=400)
        if not reason:
            return portal.message("Gagal", "Alasan refund wajib diisi.", status=400)
        value = int(amount.replace(".", ""))
        with world.lock:
            if world.refuses(key):  # fault refuse_rate: the aggregator's own refusal, nothing recorded
                return portal.message("Refund Ditolak", f"Refund {rupiah(value)} untuk pesanan {order_id} "
                                      "ditolak: pembayaran masih dalam proses settlement, ajukan "
                                      "kembali setelah settlement selesai.", status=422)
            world.record("refund_requests", order_id=order_id, amount=value,
                         reason=world.kept_note(key, reason), reference=request.form.get("reference", "").strip())
        return portal.message("Refund Diajukan", f"Refund {rupiah(value)} untuk pesanan {order_id} diajukan.",
                              back=f"{request.script_root}/refund")

    return portal


def _lookup_portal(world: World, key: str, title: str, button: str, answer) -> Portal:
    """A one-field NIK lookup (Dukcapil, ISMARA): POST the NIK, see the result on the page."""
    portal = Portal(world, key, title, nav=[("Cek NIK", "home")])
    fields = [{"label": "NIK", "name": "nik"}]

    @portal.page("/", methods=["GET", "POST"])
    def home():
        if request.method == "GET":
            return portal.render("form.html", title=title, fields=fields, button=button)
        nik = request.form.get("nik", "").strip()
        if not re.fullmatch(r"\d{16}", nik):
            return portal.render("form.html", title=title, fields=fields, button=button,
                                 error="NIK harus 16 digit angka."), 400
        result_title, result_rows = answer(nik)
        return portal.render("form.html", title=title, fields=fields, button=button, result_title=result_title,
                             result_rows=result_rows, result_label=f"Hasil {title}")

    return portal


def build_dukcapil(world: World, key: str, title: str) -> Portal:
    def answer(nik: str):
        found = next((p for p in world.table("dukcapil") if p["nik"] == nik), None)
        if found is None:
            return "Data Tidak Ditemukan", []
        return "Data Ditemukan", [("NIK", found["nik"]), ("No. KK", found["kk"]), ("Nama", found["name"])]

    return _lookup_portal(world, key, title, "Cek", answer)


def build_ismara(world: World, key: str, title: str) -> Portal:
    def answer(nik: str):
        owed = sum(r["outstanding"] for r in world.table("ismara") if r["nik"] == nik)
        if owed <= 0:
            return "Tidak Ada Tunggakan", [("Tunggakan", rupiah(0))]
        return "Ada Tunggakan", [("Tunggakan", rupiah(owed))]

    return _lookup_portal(world, key, title, "Cek Tunggakan", answer)
