"""The portals of the mock world, each a `Portal` mounted under its own prefix.

Every portal key of DESIGN §4 is served: the ones a bot issue has built out have their own
module; the others are, until then, a login and a home page (so credentials can be checked).
"""

from __future__ import annotations

from bots.settings import portal_prefix
from mock_portals.framework import Portal
from mock_portals.world import World

from mock_portals.portals import bank, esim, gateway, helpdesk, otomax, supplier

BANK_TITLES = {"bca": "KlikBCA", "mandiri": "Mandiri Kopra", "bri": "BRI CMS", "bni": "BNIDirect"}
TITLES = {
    "otomax": "Otomax Web Admin",
    "indiana": "Web Indiana",
    "aggregator": "Aggregator Pembayaran",
    "dukcapil": "Dukcapil — Verifikasi NIK",
    "ismara": "ISMARA — Cek Tunggakan",
    "helpdesk": "Helpdesk Keuangan",
    "gateway": "Payment Gateway — Dasbor Merchant",
}
BUILDERS = {"helpdesk": helpdesk.build, "otomax": otomax.build, "gateway": gateway.build, "indiana": esim.build_indiana,
            "aggregator": esim.build_aggregator, "dukcapil": esim.build_dukcapil, "ismara": esim.build_ismara,
            **{f"bank_{b}": bank.build for b in BANK_TITLES}}


def portal_keys(world: World) -> list[str]:
    """Every portal the world serves: the fixed ones, and one per supplier it knows."""
    keys = {f"bank_{b}" for b in BANK_TITLES} | set(TITLES)
    keys |= {k for k in world.portal_keys() if k.startswith("supplier_")}
    keys |= {"supplier_" + t["supplier"].lower() for t in world.table("transactions")}
    return sorted(keys)


def title_of(key: str) -> str:
    if key.startswith("bank_"):
        return BANK_TITLES[key[5:]]
    if key.startswith("supplier_"):
        return f"Portal Supplier {key[9:].upper()}"
    return TITLES[key]


def build_portals(world: World) -> dict[str, Portal]:
    """prefix → Portal for every portal key of the world."""
    portals = {}
    for key in portal_keys(world):
        builder = BUILDERS.get(key) or (supplier.build if key.startswith("supplier_") else _basic)
        portals[portal_prefix(key)] = builder(world, key, title_of(key))
    return portals


def _basic(world: World, key: str, title: str) -> Portal:
    portal = Portal(world, key, title)

    @portal.page("/")
    def home():
        return portal.render("home.html", cards=[("Portal", title)])

    return portal
