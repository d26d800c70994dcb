"""Konsol: the web console where finance, CS, GraPARI and supervisors work with the bots.

`python -m bots console` serves it (app.py); people and roles in people.py and roles.py, the
session rules in auth.py, the audit trail in audit.py, one blueprint per screen (views_*.py),
the data of the run, upload, eSIM, complaint and report screens in services/. README "Console".
"""
