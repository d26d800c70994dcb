"""Back-office bots: scheduled Playwright robots for pulsa resellers and Halo eSIM sales.

Each bot reads the world (portals and files), decides (a pure plan), acts through page
objects with an exactly-once journal, and reports to Excel workbooks built from the store.
"""

__version__ = "0.1.0"
