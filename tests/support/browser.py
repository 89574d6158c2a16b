"""The verification page in a real browser: an app served by uvicorn in a thread, and Debian's chromium.

Chromium runs headless through Playwright's Python package (no sandbox, background networking off, a fresh
profile) and every request that leaves the app is refused and reported: the page must load nothing from
elsewhere.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from support.anvil import free_port
from support.prerequisites import missing

#: Where screenshots of the page go (CI keeps the folder).
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextmanager
def served(app: Any) -> Iterator[str]:
    """``app`` served on a free port of 127.0.0.1 while the block runs; its base URL (ending in /)."""
    port = free_port()
    instance = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not instance.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        instance.should_exit = True
        thread.join(10)


@contextmanager
def chromium(profile: Path, server: str) -> Iterator[Any]:
    """A headless chromium context that may load only from ``server``; fails if the page tried elsewhere."""
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        missing("Debian's chromium is not installed (.ci/run installs it as root)")
    from playwright.sync_api import sync_playwright

    outside: list[str] = []
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1200, "height": 900},
        )

        def only_the_app(route: Any) -> None:
            if route.request.url.startswith(server) or route.request.url.startswith(("data:", "blob:")):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        context.route("**/*", only_the_app)
        try:
            yield context
        finally:
            context.close()
    assert outside == [], outside


def verdict_of(page: Any) -> tuple[str, str]:
    """The page's verdict (``data-verdict``) and status word, once the result is shown."""
    page.wait_for_selector('#verdict:not([data-verdict="pending"])', timeout=15_000)
    return page.get_attribute("#verdict", "data-verdict"), page.inner_text("#verdict-word")


def screenshot(page: Any, name: str) -> None:
    """Save the whole page as ``test-artifacts/NAME.png``."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
