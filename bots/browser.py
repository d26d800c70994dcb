"""Which Chromium the bots drive, and how it is started (DESIGN §7).

Resolution order: `BOTS_BROWSER` (a path); Playwright's own Chromium; a system Chromium —
Debian's `chromium-headless-shell` (the build Playwright itself uses headless), then
`/usr/bin/chromium`, `chromium-browser`, `google-chrome`. Set-up (`python -m bots.browser
ensure`, run by `make`) installs one when none is found: `playwright install chromium`, and
on an offline Debian machine as root, `apt-get install chromium-headless-shell chromium`.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bots.errors import ConfigError

SYSTEM_CANDIDATES = ("/usr/bin/chromium-headless-shell", "/usr/bin/chromium",
                     "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
# A system Chromium runs as root in a container here: no sandbox, no GPU, no QUIC probes.
SYSTEM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic"]
APT_PACKAGES = ("chromium-headless-shell", "chromium")


@dataclass(frozen=True)
class BrowserChoice:
    """The browser a run will launch: `executable` None means Playwright's own build."""

    executable: str | None
    source: str

    def launch_options(self, headless: bool = True) -> dict:
        options = {"headless": headless}
        if self.executable:
            options.update(executable_path=self.executable, args=list(SYSTEM_ARGS))
        return options


def playwright_chromium() -> str | None:
    """The path of Playwright's own Chromium if it is installed (no browser is started).

    Asking Playwright starts its driver (~0.5 s, then a second start for the run itself): when
    no Chromium of Playwright's is on disk at all, the answer is no without asking.
    """
    if not _playwright_may_have_chromium():
        return None
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        path = p.chromium.executable_path
    return path if path and Path(path).is_file() else None


def _playwright_may_have_chromium() -> bool:
    """Is any Chromium in the folders Playwright installs into? (A cheap look at the disk.)"""
    configured = os.environ.get("PLAYWRIGHT_BROWSERS_PATH")
    if configured and configured != "0":
        folders = [Path(configured)]
    else:
        folders = [Path.home() / ".cache" / "ms-playwright"]
        spec = importlib.util.find_spec("playwright")
        if spec and spec.origin:
            folders.append(Path(spec.origin).parent / "driver" / "package" / ".local-browsers")
    return any(folder.is_dir() and any(folder.glob("chromium*")) for folder in folders)


def resolve_browser(configured: str | None = None, *, own=playwright_chromium,
                    candidates=SYSTEM_CANDIDATES) -> BrowserChoice:
    """The first browser found in DESIGN §7's order; ConfigError when there is none."""
    if configured:
        if not Path(configured).is_file():
            raise ConfigError("BOTS_BROWSER", "the path of a Chromium executable", configured)
        return BrowserChoice(configured, "BOTS_BROWSER")
    if own():
        return BrowserChoice(None, "playwright")
    for path in candidates:
        found = shutil.which(path) if not os.path.isabs(path) else (path if Path(path).is_file() else None)
        if found:
            return BrowserChoice(found, "system")
    raise ConfigError("BOTS_BROWSER", "a Chromium: run `make test` or `python -m bots.browser ensure` "
                      "to install one, or set BOTS_BROWSER to its path")


def ensure_browser(configured: str | None = None, log=print) -> BrowserChoice:
    """Set-up: find a browser, installing one when none is there. Returns what will be used."""
    try:
        return resolve_browser(configured)
    except ConfigError:
        if configured:
            raise
    log("no Chromium found: trying `playwright install chromium`")
    try:
        done = subprocess.run([sys.executable, "-m", "playwright", "install", "chromium"],
                              timeout=600, capture_output=True, text=True)
        if done.returncode == 0:
            return resolve_browser()
        log("playwright could not download its browser (offline?): " + _last_line(done.stderr))
    except subprocess.TimeoutExpired:
        log("playwright install timed out")
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log(f"installing Debian's {' and '.join(APT_PACKAGES)} with apt-get")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=False)
        done = subprocess.run(["apt-get", "install", "-y", "-qq", *APT_PACKAGES], env=env,
                              capture_output=True, text=True)
        if done.returncode != 0:
            log("apt-get install failed: " + _last_line(done.stderr))
    return resolve_browser()


def _last_line(text: str) -> str:
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else "(no message)"


def main(argv: list[str] | None = None) -> int:
    """`python -m bots.browser ensure|which`: install or show the browser the bots use."""
    args = argv if argv is not None else sys.argv[1:]
    command = args[0] if args else "which"
    configured = os.environ.get("BOTS_BROWSER") or None
    try:
        choice = ensure_browser(configured) if command == "ensure" else resolve_browser(configured)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"browser: {choice.executable or 'Playwright Chromium'} ({choice.source})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
