"""The built book as a reader meets it: every page in a real headless browser, with the network off.

Run by ``make browser-test`` (``.ci/run`` calls it after ``make test``), which installs Debian's ``chromium`` and
``chromium-driver`` if they are missing and points ``SYMLIB_BOOK_HTML`` at a built book (default ``_build/html``;
CI: the ci book, ``_build/ci/_build/html``). Selenium drives the system's chromedriver (never a downloaded one).
Every page is checked at a laptop width (1280 px) and a phone width (390 px):

* math is typeset by the bundled MathJax: no raw ``\\(`` / ``\\[`` / ``$$`` left in the text, and every resource the
  page loads is a local file (nothing from a CDN);
* no ``{glue`` placeholder survives;
* at 1280 px no table is wider than the text column (no table needs a horizontal scroll bar);
* at 390 px every claim's verdict (the ledger's and each chapter's) is on screen;
* every image has loaded.

Without ``SYMLIB_BOOK_HTML`` (as in ``make test``, which runs before the book is built) the test is skipped; with
``SYMLIB_BROWSER_TEST=required`` (``make browser-test``) a missing browser or book fails it instead.
"""
import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
LAPTOP, PHONE = 1280, 390
REQUIRED = os.environ.get("SYMLIB_BROWSER_TEST") == "required"


def _unavailable(reason: str):
    if REQUIRED:
        pytest.fail(reason)
    pytest.skip(reason)


def _book() -> Path:
    if not os.environ.get("SYMLIB_BOOK_HTML"):
        _unavailable("no built book given (SYMLIB_BOOK_HTML); `make browser-test` runs this test")
    root = Path(os.environ["SYMLIB_BOOK_HTML"])
    if not (root / "book" / "intro.html").exists():
        _unavailable(f"no built book in {root} (run `make book`, or `make test` for _build/ci/_build/html)")
    return root


def _pages() -> list[Path]:
    root = Path(os.environ.get("SYMLIB_BOOK_HTML", "_build/html"))
    return sorted((root / "book").glob("*.html")) if (root / "book").is_dir() else []


@pytest.fixture(scope="module")
def browser():
    _book()
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _unavailable("selenium is not installed (requirements.txt)")
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        _unavailable(f"{CHROMIUM} / {CHROMEDRIVER} missing: apt-get install chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost",  # the network is off: no CDN can help
                "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(30)
    yield driver
    driver.quit()


def _load(driver, page: Path, width: int) -> None:
    driver.set_window_size(width, 1000)
    driver.get(page.resolve().as_uri())
    # wait for MathJax (bundled) to typeset, and for every image to load or fail
    driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const imgs = Array.from(document.images).map(i => { i.loading = 'eager'; return i.decode().catch(() => null); });
        const math = (window.MathJax && MathJax.startup && MathJax.startup.promise) || Promise.resolve();
        Promise.all([math, ...imgs]).then(() => done(true), () => done(false));
    """)


PAGES = _pages()


def test_the_book_has_its_pages():
    """The book given has the intro and a page per chapter of the table of contents (else the tests below would pass
    on nothing)."""
    root = _book()
    toc = (Path(__file__).resolve().parents[1] / "_toc.yml").read_text()
    chapters = [line.split("book/")[1].strip() for line in toc.splitlines() if "file: book/" in line]
    missing = [c for c in ["intro", *chapters] if not (root / "book" / f"{c}.html").exists()]
    assert not missing, f"{root}: no page for {missing}"


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_page_reads_offline_at_laptop_width(browser, page):
    _load(browser, page, LAPTOP)
    report = browser.execute_script("""
        const article = document.querySelector('article.bd-article') || document.querySelector('main') || document.body;
        const text = article.innerText;
        const box = article.getBoundingClientRect();
        const pad = parseFloat(getComputedStyle(article).paddingRight) || 0;
        const tables = [];
        article.querySelectorAll('table').forEach((t, i) => {
            let scroller = null;
            for (let e = t.parentElement; e && e !== article; e = e.parentElement)
                if (e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== 'visible') scroller = e;
            const r = t.getBoundingClientRect();
            if (scroller || r.right > box.right - pad + 1)
                tables.push(`table ${i} ("${(t.innerText || '').trim().slice(0, 40)}"): ${Math.round(r.width)} px wide, `
                            + `column ends at ${Math.round(box.right - pad)}`);
        });
        const images = Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src);
        const external = performance.getEntriesByType('resource').map(e => e.name)
            .filter(n => !n.startsWith('file:') && !n.startsWith('data:'));
        const math = document.querySelectorAll('mjx-container').length;
        return {text, tables, images, external, math};
    """)
    text = report["text"]
    raw = [m for m in ("\\(", "\\[", "$$") if m in text]
    assert not raw, f"{page.name}: raw math {raw} in the text (MathJax did not typeset it)"
    assert "{glue" not in text, f"{page.name}: an unfilled {{glue}} placeholder"
    assert not report["external"], f"{page.name}: loads from the network: {report['external'][:3]}"
    assert not report["tables"], f"{page.name}: tables wider than the text at {LAPTOP} px: {report['tables']}"
    assert not report["images"], f"{page.name}: images that did not load: {report['images'][:3]}"


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_verdicts_are_on_screen_on_a_phone(browser, page):
    _load(browser, page, PHONE)
    report = browser.execute_script("""
        const width = document.documentElement.clientWidth;
        const out = {width, verdicts: 0, hidden: [], images: []};
        document.querySelectorAll('table.claims tbody tr').forEach((tr, i) => {
            const cell = tr.children[1];
            if (!cell) return;
            out.verdicts += 1;
            const r = cell.getBoundingClientRect();
            if (r.width < 1 || r.height < 1 || r.left < -1 || r.right > width + 1)
                out.hidden.push(`row ${i} ("${cell.innerText.trim().slice(0, 30)}"): ${Math.round(r.left)}-${Math.round(r.right)}`);
        });
        out.images = Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src);
        out.claims = document.querySelectorAll('table.claims').length;
        return out;
    """)
    if page.stem == "intro":
        assert report["claims"] == 1 and report["verdicts"] > 0, "intro.html: no claims ledger (table.claims)"
    assert not report["hidden"], f"{page.name}: verdicts off screen at {PHONE} px: {report['hidden'][:3]}"
    assert not report["images"], f"{page.name}: images that did not load: {report['images'][:3]}"
