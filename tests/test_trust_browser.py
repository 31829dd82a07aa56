"""The built site in a real browser: Debian's chromium, driven through chromedriver by Selenium.

One build of the site into ``_build/html`` per session (incremental, so ``make html`` and this
module share it), served on 127.0.0.1.  The checks are a reader's: the landing page renders
without console errors, search finds ``exportbitmap``, the copy button copies an example's exact
text, the dark-mode toggle switches colours, and every internal link and anchor resolves.
Screenshots of the landing page and a reference page go to ``_build/screenshots/``.
"""

from __future__ import annotations

import functools
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import pytest

REPO = Path(__file__).resolve().parents[1]
SITE = REPO / "_build" / "html"
SCREENSHOTS = REPO / "_build" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
#: Known to work as root in a container; the last ones keep the browser off the network.
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1280,1400",
)
LANDING = "kbase/domainstatecapture.html"
REFERENCE = "docs/formatbackup.html"
WAIT_SECONDS = 20


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output free of one line per request."""


@pytest.fixture(scope="session")
def site() -> Path:
    """``_build/html``, brought up to date with the sources (warnings are ``make html``'s job)."""
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-n", "-q", "--no-color", "-b", "html",
         str(REPO), str(SITE)],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=900, cwd=REPO,
    )
    assert result.returncode == 0, f"the site does not build:\n{result.stderr[-4000:]}"
    return SITE


@pytest.fixture(scope="session")
def base_url(site: Path) -> Iterator[str]:
    handler = functools.partial(QuietHandler, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.is_file()]
    if missing:
        pytest.fail(f"the browser checks need Debian's chromium and chromium-driver "
                    f"({', '.join(missing)} missing): run tools/debian-deps as root")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("the browser checks need selenium in the virtualenv (pip install selenium)")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


def wait_for(condition: Any, what: str) -> Any:
    """Poll ``condition()`` until it is truthy; fail naming ``what`` after WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out after {WAIT_SECONDS} s waiting for {what}")


def open_page(browser: Any, url: str) -> None:
    """Load ``url`` and let its deferred scripts run; earlier pages' console entries are gone."""
    browser.get_log("browser")
    browser.get(url)
    wait_for(lambda: browser.execute_script("return document.readyState") == "complete",
             f"{url} to load")
    time.sleep(0.3)


def console_errors(browser: Any) -> list[str]:
    """Errors the page logged (the site sets a favicon, so none is a missing /favicon.ico)."""
    return [
        entry["message"] for entry in browser.get_log("browser")
        if entry["level"] == "SEVERE"
    ]


def screenshot(browser: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    assert browser.save_screenshot(str(path)), f"no screenshot written to {path}"
    return path


def test_landing_page_renders_without_console_errors(browser: Any, base_url: str) -> None:
    from selenium.webdriver.common.by import By

    open_page(browser, base_url + LANDING)
    heading = browser.find_element(By.CSS_SELECTOR, "article h1")
    assert heading.is_displayed() and heading.text.strip()
    images = browser.execute_script(
        "return [...document.images].filter(i => !i.complete || i.naturalWidth === 0)"
        ".map(i => i.src)")
    assert images == [], f"images that did not load: {images}"
    assert console_errors(browser) == []
    assert screenshot(browser, "landing.png").stat().st_size > 10_000


def test_reference_page_screenshot(browser: Any, base_url: str) -> None:
    from selenium.webdriver.common.by import By

    open_page(browser, base_url + REFERENCE)
    assert browser.find_element(By.ID, "xml-element-domainbackup").is_displayed()
    assert console_errors(browser) == []
    assert screenshot(browser, "reference.png").stat().st_size > 10_000


def test_search_finds_the_backup_reference_entry(browser: Any, base_url: str) -> None:
    from selenium.webdriver.common.by import By

    open_page(browser, base_url + "search.html?q=exportbitmap")
    results = wait_for(
        lambda: browser.find_elements(By.CSS_SELECTOR, "#search-results li a"),
        "search results for exportbitmap",
    )
    targets = [link.get_attribute("href") for link in results]
    entry = base_url + REFERENCE + "#xml-attribute-domainbackup-disks-disk-attr-exportbitmap"
    assert entry in targets, targets
    assert "domainbackup/disks/disk/@exportbitmap" in results[targets.index(entry)].text
    assert console_errors(browser) == []
    browser.get(entry)
    wait_for(lambda: browser.execute_script("return document.readyState") == "complete",
             "the reference entry to load")
    assert browser.execute_script("return location.hash") == "#" + entry.split("#")[1]
    assert browser.find_element(By.ID, entry.split("#")[1]).is_displayed()


def test_copy_button_copies_the_example_file(browser: Any, base_url: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    open_page(browser, base_url + "kbase/backup-full.html")
    # Record what the browser puts on the clipboard when the button copies.
    browser.execute_script("""
        document.addEventListener('copy', () => {
          const el = document.activeElement;
          window.copiedText = (el && typeof el.value === 'string')
            ? el.value.slice(el.selectionStart, el.selectionEnd)
            : String(document.getSelection());
        }, true);""")
    example = browser.find_elements(By.CSS_SELECTOR, ".xml-example")[0]
    relative = example.find_element(By.CSS_SELECTOR, ".code-block-caption a[href$='.xml']").text
    button = example.find_element(By.CSS_SELECTOR, "button.copybtn")
    ActionChains(browser).move_to_element(example.find_element(By.TAG_NAME, "pre")).perform()
    wait_for(button.is_displayed, "the copy button to show on hover")
    ActionChains(browser).move_to_element(button).click().perform()
    copied = wait_for(lambda: browser.execute_script("return window.copiedText"), "a copy")
    # sphinx-copybutton leaves out the file's final newline, and nothing else.
    assert copied == (REPO / relative).read_text(encoding="utf-8").removesuffix("\n")
    assert button.get_attribute("data-tooltip") == "Copied!"


def test_dark_mode_toggle_switches_colours(browser: Any, base_url: str) -> None:
    from selenium.webdriver.common.by import By

    open_page(browser, base_url + LANDING)
    toggle = next(
        button for button in browser.find_elements(By.CSS_SELECTOR, "button.theme-toggle")
        if button.is_displayed()
    )
    state = "return [document.body.dataset.theme, getComputedStyle(document.body).backgroundColor]"
    seen = {}
    for _ in range(3):  # furo cycles auto -> dark -> light -> auto (in a light browser)
        toggle.click()
        theme, background = browser.execute_script(state)
        seen[theme] = background
    assert set(seen) == {"auto", "dark", "light"}, seen
    assert seen["dark"] != seen["light"], seen
    assert _luminance(seen["dark"]) < 0.2 < 0.8 < _luminance(seen["light"]), seen
    toggle.click()  # dark again, kept across pages like a reader expects
    open_page(browser, base_url + REFERENCE)
    assert browser.execute_script(state)[0] == "dark"
    assert console_errors(browser) == []


def _luminance(css_colour: str) -> float:
    """0 for black, 1 for white, from ``rgb(r, g, b)``."""
    red, green, blue = (int(part) for part in css_colour.split("(")[1].split(")")[0].split(",")[:3])
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255


class _Links(HTMLParser):
    """The ids a page defines and the internal URLs it points at."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for key in ("id", "name") if tag != "meta" else ():
            if found.get(key):
                self.ids.add(str(found[key]))
        for key in ("href", "src"):
            url = found.get(key)
            if url and not urlsplit(url).scheme and not url.startswith("//"):
                self.urls.append(url)


def test_every_internal_link_and_anchor_resolves(site: Path) -> None:
    pages: dict[Path, _Links] = {}
    for page in sorted(site.rglob("*.html")):
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8"))
        pages[page] = parser
    broken: list[str] = []
    checked = 0
    for page, links in pages.items():
        base = page.relative_to(site).as_posix()
        for url in links.urls:
            checked += 1
            parts = urlsplit(urljoin(base, url))
            target = site / unquote(parts.path) if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{base}: {url} (no file {target.relative_to(site)})")
            elif (parts.fragment and target.suffix == ".html"
                  and unquote(parts.fragment) not in pages[target].ids):
                broken.append(f"{base}: {url} (no anchor #{parts.fragment})")
    assert checked > 500, f"only {checked} internal links found: is the site complete?"
    assert broken == [], f"{len(broken)} broken of {checked}:\n" + "\n".join(broken[:40])
