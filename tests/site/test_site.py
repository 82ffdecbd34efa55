"""The built site, checked as a reader would see it.

Run after `jupyter-book build .` (make test does). Two kinds of checks:

- HTML checks, which need no browser and always run: every internal link and anchor resolves;
  every figure (a ``figure`` element, or an image in a notebook output) has a caption in words
  and every image alt text in words (not a file name); no page contains a project-internal
  name (``THEOREMS.md``, ``../shared``), and no text a reader sees outside formulas and code
  cells contains a raw equation label (``eq-...``) or unrendered TeX (``$...$``, ``\\frac``,
  ``\\mathbb``, ``10^{12}``); no glued number in a sentence is in e-notation; the PDF
  download button is there exactly when the PDF is, and the PDF (if built) lacks no character.
- Browser checks, in headless Chromium (Debian's ``chromium`` and ``chromium-driver``; skipped,
  and said so, without them), on every page at 1280 px and at 390 px (a phone): MathJax
  typeset every formula without error, every image loaded, no console error, no ``??`` of an
  unresolved reference; nothing is wider than its column (a ``pre`` block, a table, a display
  formula; at phone width a table or ``pre`` may scroll inside its own box, and the page
  itself never scrolls sideways); the visible text, including link text, the table of
  contents and search results, has no raw label or unrendered TeX; theorem boxes and their
  cross-references render; the scorecard's status column is in view on a phone. Every page is
  saved as a full-page screenshot at both widths under ``_build/screenshots/``.
"""

import base64
import functools
import http.server
import re
import shutil
import threading
from collections import Counter
from pathlib import Path
from urllib.parse import unquote, urldefrag, urljoin, urlparse

import pytest
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
PDF_NAME = "catastrophic-goodhart.pdf"
CHROMIUM = (shutil.which("chromium") or shutil.which("chromium-browser")
            or shutil.which("google-chrome"))
CHROMEDRIVER = shutil.which("chromedriver")
DESKTOP, PHONE = 1280, 390
WIDTHS = [DESKTOP, PHONE]

needs_browser = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="no Chromium/ChromeDriver found (Debian: apt-get install chromium chromium-driver): "
    "browser test SKIPPED",
)

#: Names of the project's private files, which the book must never show or link.
INTERNAL = re.compile(r"THEOREMS\.md|\.\./shared|/work/shared")
#: A MyST equation label shown as text instead of a number.
LABEL = re.compile(r"(?<![\w-])eq-[\w-]+")
#: TeX that reached the reader unrendered.
TEX = re.compile(
    r"\$[^$\n]+\$"
    r"|\\(?:frac|dfrac|tfrac|mathbb|mathrm|mathcal|mathbf|operatorname|overline|left|right"
    r"|sqrt|sum|int|infty|lim|cdot|times|leq?|geq?|to|mid|alpha|beta|gamma|delta|varepsilon"
    r"|epsilon|lambda|mu|sigma|rho|kappa|theta|Fbar|KL|E|P|R)(?![A-Za-z])"
    r"|\\[()\[\]]"
    r"|[\^_]\{"
)
#: An alt text or caption "in words": two words of letters, and not a file name.
WORDS = re.compile(r"[A-Za-z]{2,}\W+[A-Za-z]{2,}")
FILE_NAME = re.compile(r"\.(png|jpe?g|svg|gif|webp)\b|_images/|^\S+/\S+$", re.IGNORECASE)


def book_pages():
    """Every page the table of contents produces (not Sphinx's index and search pages)."""
    return sorted(p.relative_to(SITE).as_posix() for p in (SITE / "book").glob("*.html"))


# --- HTML checks (no browser) ----------------------------------------------------------------

@functools.cache
def soup(page):
    return BeautifulSoup((SITE / page).read_text(encoding="utf-8"), "html.parser")


@functools.cache
def ids(page):
    return {tag["id"] for tag in soup(page).find_all(id=True)}


def article(page):
    return soup(page).find("article") or soup(page).body


#: Elements whose text is not prose: formulas (TeX until MathJax runs), code cell inputs,
#: scripts and styles.
# The API page writes formulas in docstrings as plain text in code font (``E_{P_t}[X]``), as
# they read in help(): not TeX meant to render.
NOT_PROSE = ["script", "style", "noscript", ".math", ".cell_input", "div.highlight pre",
             "#api-reference code.literal"]


def prose_text(root):
    """The text of ``root`` outside formulas, code cell inputs, scripts and styles."""
    root = BeautifulSoup(str(root), "html.parser")
    for selector in NOT_PROSE:
        for element in root.select(selector):
            if selector == "div.highlight pre" and element.find_parent(class_="output"):
                continue  # printed output is what the reader reads: keep it
            element.decompose()
    return root.get_text(" ")


def test_site_was_built():
    assert (SITE / "index.html").exists(), "build the site first: jupyter-book build ."
    assert len(book_pages()) >= 4


@pytest.mark.parametrize("page", book_pages())
def test_internal_links_resolve(page):
    missing = []
    for link in soup(page).find_all("a", href=True):
        href = link["href"]
        if urlparse(href).scheme or href.startswith(("mailto:", "//")):
            continue
        target, anchor = urldefrag(urljoin(page, href))
        target = unquote(target) or page
        if not (SITE / target).exists():
            missing.append(href)
        elif anchor and target.endswith(".html") and anchor not in ids(target):
            missing.append(href)
    assert not missing, f"links on {page} that lead nowhere: {missing}"


def figure_problems(page):
    """Figures without a caption in words, images without alt text in words."""
    problems = []
    main = article(page)
    for img in main.find_all("img"):
        alt = (img.get("alt") or "").strip()
        name = Path(img.get("src", "?")).name[:24]
        if not WORDS.search(alt) or FILE_NAME.search(alt):
            problems.append(f"image {name}: alt text {alt[:50]!r} is not words")
        in_output = img.find_parent(class_="cell_output") is not None
        figure = img.find_parent("figure")
        if in_output and figure is None:
            problems.append(f"image {name} in a notebook output: not a captioned figure")
    for figure in main.find_all("figure"):
        caption = figure.find("figcaption")
        text = caption.get_text(" ", strip=True) if caption else ""
        text = re.sub(r"^(Fig\.|Figure)\s*[\d.]+\s*", "", text)
        if not WORDS.search(text):
            problems.append(f"figure {figure.get('id', '?')}: no caption in words")
    return problems


@pytest.mark.parametrize("page", book_pages())
def test_figures_have_captions_and_alt_text(page):
    problems = figure_problems(page)
    assert not problems, f"{page}: {len(problems)} figure problems: {problems[:8]}"


def text_problems(text):
    found = [f"raw label {m}" for m in LABEL.findall(text)]
    found += [f"unrendered TeX {m!r}" for m in TEX.findall(text)]
    return found


@pytest.mark.parametrize("page", book_pages() + ["index.html", "search.html", "genindex.html"])
def test_no_internal_names_anywhere(page):
    """Not in the text, not in a link, not in a comment: the site never names them."""
    html = (SITE / page).read_text(encoding="utf-8")
    found = sorted(set(INTERNAL.findall(html)))
    assert not found, f"{page} names project-internal files: {found}"


@pytest.mark.parametrize("page", book_pages())
def test_prose_has_no_raw_labels_or_tex(page):
    """The page's text, and its title (which the browser's tab shows)."""
    problems = text_problems(prose_text(soup(page).body))
    problems += [f"in the title: {p}" for p in text_problems(soup(page).title.get_text())]
    assert not problems, f"{page}: {sorted(set(problems))[:10]}"


#: A number in e-notation (``8.3e-11``), which reads as code in a sentence.
E_NOTATION = re.compile(r"\d(?:\.\d+)?e[+-]?\d")


@pytest.mark.parametrize("page", book_pages())
def test_glued_numbers_in_sentences_are_written_as_powers_of_ten(page):
    """book/_ext/presentation.py writes ``{glue:text}`k:.2e``` as ``8.3 × 10⁻¹¹``."""
    glued = [span.get_text() for span in article(page).select("span.pasted-text")]
    found = [text for text in glued if E_NOTATION.search(text)]
    assert not found, f"{page}: glued numbers in e-notation: {found[:5]}"
    # a number in bold on its own, as the scorecard's key numbers are
    bold = [b.get_text() for b in article(page).select("strong")]
    found = [text for text in bold if re.fullmatch(r"\d+(?:\.\d+)?e[+-]?\d+", text.strip())]
    assert not found, f"{page}: numbers in bold in e-notation: {found[:5]}"


@pytest.mark.parametrize("page", book_pages())
def test_no_line_starts_with_the_punctuation_after_a_formula(page):
    """book/_ext/presentation.py binds a formula, the comma (or stop) after it and the opening
    quote or bracket before it together."""
    loose = []
    for math in article(page).select("span.math"):
        following = math.next_sibling
        preceding = math.previous_sibling
        bound = math.parent.name == "span" and "nowrap" in math.parent.get("class", [])
        if not bound and (isinstance(following, str) and re.match(r"[,.;:]", following)
                          or isinstance(preceding, str) and re.search(r"[(“]$", preceding)):
            loose.append(math.get_text()[:40])
    assert not loose, f"{page}: formulas whose punctuation can start a line: {loose[:5]}"


def test_api_page_documents_every_module():
    """book/_ext/api_reference.py finds the modules at build time: none is left out."""
    modules = sorted(p.stem for p in (ROOT / "src" / "goodhart").glob("*.py")
                     if not p.stem.startswith("_"))
    sections = ids("book/api.html")
    missing = [m for m in modules if f"goodhart-{m.replace('_', '-')}" not in sections]
    assert modules and not missing, f"modules without a section on the API page: {missing}"


def test_pdf_download_button_is_there_exactly_when_the_pdf_is():
    pdf = SITE / PDF_NAME
    linked = [page for page in book_pages()
              if soup(page).find("a", href=re.compile(re.escape(PDF_NAME) + "$"))]
    if pdf.exists():
        assert pdf.read_bytes()[:5] == b"%PDF-"
        assert linked == book_pages(), "a page without the PDF download button"
    else:
        assert not linked, f"pages link to {PDF_NAME}, which was not built: {linked[:3]}"


@pytest.mark.skipif(not (ROOT / "_build" / "latex" / "book.log").exists(),
                    reason="no PDF built (make pdf): its log SKIPPED")
def test_pdf_prints_every_character():
    """XeLaTeX drops a character its font lacks, with only a line in its log to say so."""
    log = (ROOT / "_build" / "latex" / "book.log").read_text(encoding="utf-8", errors="replace")
    missing = sorted(set(re.findall(r"Missing character: There is no (\S+)", log)))
    assert not missing, f"characters missing from the PDF: {missing}"


# --- the browser -----------------------------------------------------------------------------

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
                 "--disable-sync", "--hide-scrollbars", "--window-size=1280,900"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


def set_width(browser, width):
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600})


WAIT_FOR_MATHJAX = """
const done = arguments[arguments.length - 1];
if (!document.querySelector('script[src*="mathjax"]')) { done(false); return; }
const wait = () => (window.MathJax && MathJax.startup && MathJax.startup.promise)
  ? MathJax.startup.promise.then(() => done(true)) : setTimeout(wait, 50);
wait();
"""


def load(browser, server, page, width=DESKTOP):
    """Open a page at a window width, wait for MathJax, return the console log of the load."""
    set_width(browser, width)
    browser.get_log("browser")  # drop what earlier pages logged
    browser.get(urljoin(server, page))
    browser.execute_async_script(WAIT_FOR_MATHJAX)
    return browser.get_log("browser")


MEASURE = r"""
const phone = arguments[0];
const viewport = document.documentElement.clientWidth;
const main = document.querySelector('article.bd-article') || document.body;
const visible = (el) => el.getClientRects().length > 0
  && getComputedStyle(el).visibility !== 'hidden';
const where = (el) => {
  const section = el.closest('section[id]');
  const text = (el.textContent || '').trim().replace(/\s+/g, ' ').slice(0, 50);
  return `${section ? '#' + section.id : ''} "${text}"`;
};
const scroller = (el) => {
  for (let a = el; a && a !== main; a = a.parentElement) {
    const overflow = getComputedStyle(a).overflowX;
    if (overflow === 'auto' || overflow === 'scroll') return a;
  }
  return null;
};
const wide = [];
const allowed = (el) => {  // at phone width: inside its own scrolling box, on the page
  const box = scroller(el);
  return phone && box && box.getBoundingClientRect().right <= viewport + 1;
};
for (const pre of main.querySelectorAll('pre')) {
  if (!visible(pre) || pre.scrollWidth <= pre.clientWidth + 1 || allowed(pre)) continue;
  const kind = pre.closest('.cell_input') ? 'code cell input' : 'pre block';
  wide.push(`${kind} ${pre.scrollWidth}px in ${pre.clientWidth}px: ${where(pre)}`);
}
for (const table of main.querySelectorAll('table')) {
  if (!visible(table)) continue;
  const box = table.parentElement;
  const width = Math.max(table.scrollWidth, table.getBoundingClientRect().width);
  const room = Math.min(box.clientWidth, main.clientWidth);
  if (width <= room + 1 || allowed(table)) continue;
  wide.push(`table ${Math.round(width)}px in ${room}px: ${where(table)}`);
}
for (const math of main.querySelectorAll('mjx-container[display]')) {
  const inner = math.querySelector('mjx-math');
  if (!inner || !visible(math)) continue;
  const width = inner.getBoundingClientRect().width;
  const room = math.clientWidth;
  if (width <= room + 1) continue;
  wide.push(`display formula ${Math.round(width)}px in ${room}px: ${where(math.parentElement)}`);
}
const pageOverflow = document.documentElement.scrollWidth - window.innerWidth;

// The cells of every column headed "status", and where they are.
const statusCells = [];
for (const table of main.querySelectorAll('table')) {
  const heads = [...table.querySelectorAll('thead th')].map(t => t.textContent.trim());
  const column = heads.findIndex(h => /^status$/i.test(h));
  if (column < 0) continue;
  for (const row of table.querySelectorAll('tbody tr')) {
    const cell = row.children[column];
    const r = cell.getBoundingClientRect();
    statusCells.push({text: cell.textContent.trim().slice(0, 30), left: r.left,
                      right: r.right, width: r.width, shown: visible(cell)});
  }
}

// The text a reader sees: everything rendered, minus formulas and code cell inputs.
const skip = 'script, style, mjx-container, .math, .cell_input, .highlight:not(.output *), ' +
  '#api-reference code.literal';
const texts = [];
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let node = walker.nextNode(); node; node = walker.nextNode()) {
  const parent = node.parentElement;
  if (!parent || parent.closest(skip) || !visible(parent)) continue;
  const text = node.textContent.trim();
  if (text) texts.push(text);
}
return {
  wide: wide,
  pageOverflow: pageOverflow,
  viewport: viewport,
  statusCells: statusCells,
  text: texts.join(' '),
  math: {
    formulas: document.querySelectorAll('.math, span.math, div.math').length,
    typeset: document.querySelectorAll('mjx-container').length,
    failed: [...document.querySelectorAll('mjx-merror, [data-mjx-error]')]
      .map(e => e.getAttribute('data-mjx-error') || e.textContent),
    raw: [...document.querySelectorAll('.math')]
      .filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 80)),
  },
  broken: [...document.images].filter(img => !(img.complete && img.naturalWidth > 0))
    .map(img => img.src),
  bodyText: document.body.innerText,
};
"""


def screenshot(browser, path, width):
    """A full-page PNG of the current page (encoded for speed: half the time, a quarter larger).

    The viewport is made as tall as the page (at most 32000 px) and photographed whole:
    Chrome's ``captureBeyondViewport`` lays some pages out shifted to the left.
    """
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": min(height, 32000), "deviceScaleFactor": 1,
        "mobile": width < 600})
    shot = browser.execute_cdp_cmd("Page.captureScreenshot",
                                   {"format": "png", "optimizeForSpeed": True})
    set_width(browser, width)
    path.write_bytes(base64.b64decode(shot["data"]))


@pytest.fixture(scope="module")
def view(browser, server):
    """``view(page, width)``: one load of the page at that width, measured and photographed."""
    cache = {}

    def measure(page, width):
        if (page, width) not in cache:
            console = load(browser, server, page, width)
            result = browser.execute_script(MEASURE, width < 600)
            result["console"] = [e["message"] for e in console if e["level"] == "SEVERE"]
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            path = SCREENSHOTS / f"{Path(page).stem}-{width}.png"
            screenshot(browser, path, width)
            result["screenshot"] = path
            cache[(page, width)] = result
        return cache[(page, width)]

    return measure


@needs_browser
def test_front_page_leads_to_the_introduction(browser, server):
    from selenium.webdriver.support.ui import WebDriverWait

    set_width(browser, DESKTOP)
    browser.get(urljoin(server, "index.html"))
    WebDriverWait(browser, 30).until(lambda b: b.current_url.endswith("book/intro.html"))


@needs_browser
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("page", book_pages())
def test_page_renders(view, page, width):
    result = view(page, width)
    assert not result["console"], f"console errors on {page}: {result['console']}"
    math = result["math"]
    assert not math["failed"], f"MathJax errors on {page}: {math['failed']}"
    assert not math["raw"], f"formulas left untypeset on {page}: {math['raw'][:5]}"
    assert math["typeset"] >= math["formulas"]
    assert not result["broken"], f"images that did not load on {page}: {result['broken']}"
    assert "??" not in result["bodyText"], f"an unresolved reference renders as ?? on {page}"


@needs_browser
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("page", book_pages())
def test_nothing_is_wider_than_its_column(view, page, width):
    result = view(page, width)
    problems = list(result["wide"])
    if result["pageOverflow"] > 1:
        problems.insert(0, f"the page scrolls sideways by {result['pageOverflow']}px")
    kinds = Counter(problem.split(" ")[0] if not problem.startswith(("code", "display"))
                    else " ".join(problem.split(" ")[:2]) for problem in problems)
    summary = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
    assert not problems, f"{page} at {width}px: {len(problems)} too wide ({summary}): " \
                         f"{problems[:6]}"


@needs_browser
@pytest.mark.parametrize("page", book_pages())
def test_visible_text_has_no_raw_labels_or_tex(view, page):
    """The rendered text, with the table of contents and every link's text."""
    problems = text_problems(view(page, DESKTOP)["text"])
    problems += [f"internal name {m}" for m in INTERNAL.findall(view(page, DESKTOP)["text"])]
    assert not problems, f"{page}: {sorted(set(problems))[:10]}"


@needs_browser
@pytest.mark.parametrize("query", ["Goodhart", "Demonstration", "tail"])
def test_search_results_show_no_raw_tex(browser, server, query):
    load(browser, server, f"search.html?q={query}", DESKTOP)
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 30).until(lambda b: b.execute_script(
        "const s = document.querySelector('#search-results .search-summary');"
        "return s && /found|did not match/.test(s.textContent);"))
    browser.execute_async_script(
        "const done = arguments[0]; setTimeout(() => (window.MathJax && MathJax.typesetPromise)"
        " ? MathJax.typesetPromise().then(() => done()) : done(), 600);")
    text = browser.execute_script(
        "const r = document.getElementById('search-results').cloneNode(true);"
        "r.querySelectorAll('mjx-container').forEach(e => e.remove());"
        # the API page's snippets quote its docstrings' plain-text formulas (see NOT_PROSE)
        "r.querySelectorAll('li').forEach(e => { const a = e.querySelector('a');"
        " if (a && /api\\.html/.test(a.getAttribute('href'))) e.remove(); });"
        "return r.textContent;")
    assert "found" in text or "Search Results" in text
    problems = text_problems(text)
    assert not problems, f"search for {query!r} shows: {sorted(set(problems))[:10]}"


@needs_browser
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


@needs_browser
@pytest.mark.parametrize("page", ["book/scorecard.html"])  # its scope: that page's (conftest)
def test_scorecard_status_column_is_in_view_on_a_phone(view, page):
    result = view(page, PHONE)
    assert result["pageOverflow"] <= 1, "the scorecard scrolls sideways on a phone"
    cells = result["statusCells"]
    assert cells, "no table with a status column on the scorecard"
    hidden = [c["text"] for c in cells
              if not (c["shown"] and c["width"] > 0 and c["left"] >= -1
                      and c["right"] <= result["viewport"] + 1)]
    assert not hidden, f"status cells out of view at {PHONE}px: {hidden[:5]}"


@needs_browser
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("page", book_pages())
def test_screenshots(view, page, width):
    path = view(page, width)["screenshot"]
    assert path.stat().st_size > 10_000, f"{path} looks empty"


@needs_browser
def test_a_click_enlarges_a_figure(browser, server):
    load(browser, server, "book/theorem1.html")
    opened = browser.execute_script("""
        const img = document.querySelector('article .cell_output img, article figure img');
        if (!img) return null;
        img.click();
        const overlay = document.querySelector('.gh-lightbox');
        const big = overlay && overlay.querySelector('img');
        const result = big ? {src: big.src === img.src, width: big.getBoundingClientRect().width,
                              column: img.getBoundingClientRect().width} : false;
        document.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape'}));
        result && (result.closed = !document.querySelector('.gh-lightbox'));
        return result;""")
    assert opened, "no figure on the Theorem 1 page, or no overlay after a click"
    assert opened["src"] and opened["closed"]
    assert opened["width"] > opened["column"], "the enlarged figure is no larger"


@needs_browser
def test_glued_numbers_read_like_their_sentence(browser, server):
    # MyST-NB sets pasted (glued) text in bold; the book's CSS keeps the sentence's weight
    load(browser, server, "book/reward_models.html")
    weights = browser.execute_script("""
        return [...document.querySelectorAll('article span.pasted-text')].map(e =>
            [getComputedStyle(e).fontWeight, getComputedStyle(e.parentElement).fontWeight]);""")
    assert len(weights) > 20, "no glued numbers on the reward-model page"
    assert all(own == parent for own, parent in weights), weights[:5]
