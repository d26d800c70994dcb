"""The console's own settings, validated at start (a bad one stops it naming the key).

| setting          | env                     | toml                     | default |
|------------------|-------------------------|--------------------------|---------|
| secret_key       | CONSOLE_SECRET_KEY      | — (a secret: env only)   | required, ≥ 32 characters |
| secure_cookies   | CONSOLE_SECURE_COOKIES  | console.secure_cookies   | false (true behind TLS) |
| trusted_proxies  | CONSOLE_TRUSTED_PROXIES | console.trusted_proxies  | 0 (1 behind one reverse proxy: ProxyFix) |
| url              | CONSOLE_URL             | console.url              | none (bots/settings.py: `console_url`) |

The idle timeout (15 minutes), the absolute one (8 hours) and the login limit (5 failed tries
a minute per user name and per address) are fixed: they are the issue's rules, not knobs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from bots.errors import ConfigError

IDLE_TIMEOUT = timedelta(minutes=15)
ABSOLUTE_TIMEOUT = timedelta(hours=8)
LOGIN_TRIES = 5
LOGIN_WINDOW = timedelta(minutes=1)
MIN_SECRET = 32


@dataclass(frozen=True)
class ConsoleOptions:
    secret_key: str = field(repr=False)
    secure_cookies: bool = False
    trusted_proxies: int = 0


def console_options(settings) -> ConsoleOptions:
    from bots.settings import _bool, _int

    own = settings.sections.get("console", {})
    if not isinstance(own, dict):
        raise ConfigError("console", "a [console] table", own)
    secret = settings.env.get("CONSOLE_SECRET_KEY", "")
    if len(secret) < MIN_SECRET:
        raise ConfigError("CONSOLE_SECRET_KEY", f"a random text of at least {MIN_SECRET} characters in .env or the "
                          "environment (python -c 'import secrets; print(secrets.token_hex(32))')", "<hidden>")
    secure = _bool("CONSOLE_SECURE_COOKIES", settings.env.get("CONSOLE_SECURE_COOKIES",
                                                              own.get("secure_cookies", False)))
    proxies = _int("CONSOLE_TRUSTED_PROXIES", settings.env.get("CONSOLE_TRUSTED_PROXIES",
                                                               own.get("trusted_proxies", 0)), 0)
    return ConsoleOptions(secret, secure, proxies)
