"""The mock world: local imitations of the portals the bots drive (DESIGN §4)."""
