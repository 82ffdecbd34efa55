"""The built site, opened page by page in headless Chromium as a reader would see it.

Run after `jupyter-book build .` (make test does). Serves `_build/html` on a loopback port and
asserts, on every page of the book: MathJax typeset every formula without error, every image
loaded, every internal link and anchor resolves, theorem boxes and their cross-references
render, and the browser console shows no error. Saves screenshots of the introduction and of
the Theorem 1 chapter under `_build/screenshots/`.
"""

import functools
import http.server
import re
import shutil
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urljoin, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="no Chromium/ChromeDriver found (Debian: apt-get install chromium chromium-driver): "
    "browser test SKIPPED",
)


def book_pages():
    """Every page the table of contents produces (not Sphinx's index and search pages)."""
    return sorted(p.relative_to(SITE).as_posix() for p in (SITE / "book").glob("*.html"))


class Anchors(HTMLParser):
    """The ids of a page, and the targets of its links."""

    def __init__(self):
        super().__init__()
        self.ids, self.links = set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])


@functools.cache
def parse(page):
    parser = Anchors()
    parser.feed((SITE / page).read_text(encoding="utf-8"))
    return parser


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=str(SITE), **kwargs)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), QuietHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--window-size=1280,2000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


def test_site_was_built():
    assert (SITE / "index.html").exists(), "build the site first: jupyter-book build ."
    assert len(book_pages()) >= 4


def test_front_page_leads_to_the_introduction(browser, server):
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(urljoin(server, "index.html"))
    WebDriverWait(browser, 30).until(lambda b: b.current_url.endswith("book/intro.html"))


def load(browser, server, page):
    """Open a page, wait for MathJax to finish, return the console log of the load."""
    browser.get_log("browser")  # drop what earlier pages logged
    browser.get(urljoin(server, page))
    browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "if (!document.querySelector('script[src*=\"mathjax\"]')) { done(false); return; }"
        "const wait = () => (window.MathJax && MathJax.startup && MathJax.startup.promise)"
        "  ? MathJax.startup.promise.then(() => done(true)) : setTimeout(wait, 50);"
        "wait();"
    )
    return browser.get_log("browser")


@pytest.mark.parametrize("page", book_pages())
def test_page_renders(browser, server, page):
    console = load(browser, server, page)
    errors = [entry["message"] for entry in console if entry["level"] == "SEVERE"]
    assert not errors, f"console errors on {page}: {errors}"

    math = browser.execute_script(
        "return {"
        " formulas: document.querySelectorAll('.math, span.math, div.math').length,"
        " typeset: document.querySelectorAll('mjx-container').length,"
        " failed: [...document.querySelectorAll('mjx-merror, [data-mjx-error]')]"
        "   .map(e => e.getAttribute('data-mjx-error') || e.textContent),"
        " raw: [...document.querySelectorAll('.math')]"
        "   .filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 80)),"
        "}"
    )
    assert not math["failed"], f"MathJax errors on {page}: {math['failed']}"
    assert not math["raw"], f"formulas left untypeset on {page}: {math['raw'][:5]}"
    assert math["typeset"] >= math["formulas"]

    broken = browser.execute_script(
        "return [...document.images]"
        "  .filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.src);"
    )
    assert not broken, f"images that did not load on {page}: {broken}"

    text = browser.find_element("tag name", "body").text
    assert "??" not in text, f"an unresolved reference renders as ?? on {page}"


@pytest.mark.parametrize("page", book_pages())
def test_internal_links_resolve(page):
    missing = []
    for href in parse(page).links:
        if urlparse(href).scheme or href.startswith(("mailto:", "//")):
            continue
        target, anchor = urldefrag(urljoin(page, href))
        target = unquote(target) or page
        if not (SITE / target).exists():
            missing.append(href)
        elif anchor and target.endswith(".html") and anchor not in parse(target).ids:
            missing.append(href)
    assert not missing, f"links on {page} that lead nowhere: {missing}"


def test_theorem_boxes_and_cross_references(browser, server):
    load(browser, server, "book/theorem1.html")
    titles = browser.execute_script(
        "return [...document.querySelectorAll('div.proof.theorem .admonition-title,"
        " div.theorem .admonition-title')].map(e => e.textContent.trim());"
    )
    assert any(re.match(r"Theorem 1\b", title) for title in titles), titles
    refs = browser.execute_script(
        "return [...document.querySelectorAll('a.reference.internal')]"
        "  .map(a => a.textContent.trim()).filter(t => /^(Theorem|Definition|Corollary)/.test(t));"
    )
    assert refs, "no theorem or definition cross-reference rendered as a link"


@pytest.mark.parametrize("page", ["book/intro.html", "book/theorem1.html"])
def test_screenshots(browser, server, page):
    load(browser, server, page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    height = browser.execute_script("return document.body.scrollHeight")
    browser.set_window_size(1280, min(max(height, 800), 6000))
    path = SCREENSHOTS / (Path(page).stem + ".png")
    assert browser.save_screenshot(str(path))
    assert path.stat().st_size > 10_000
    browser.set_window_size(1280, 2000)
