"""What an auditor sees: the RA report and the Data Docs of the DAG run, in headless Chromium.

The DAG's report task writes the RA report; each page is loaded from disk in Debian's
Chromium (installed by ``scripts/bootstrap.py test``), its DOM dumped after the scripts ran
and a screenshot taken. Expected figures are queried from the marts here, independently of
the report's code.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest
from billing_dag_run import PERIOD
from PIL import Image, ImageStat

from expectations.suites import audit_domains
from pipelines.assurance.ra_report import TOP_ALERTS, ra_report_path
from pipelines.config import Layout

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Offline and reproducible: no network, no first-run or update chatter, a throwaway profile.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    # Virtual time runs the page's scripts (plotly draws its SVG) before the dump.
    "--virtual-time-budget=15000",
)
WINDOW = (1280, 2400)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="chromium is installed by scripts/bootstrap.py test"
    ),
]


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list[Element] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()

    def find_all(self, tag: str | None = None, cls: str | None = None) -> list[Element]:
        return [
            element
            for element in self.walk()
            if (tag is None or element.tag == tag) and (cls is None or cls in element.classes)
        ]

    def by_id(self, element_id: str) -> Element:
        found = [element for element in self.walk() if element.attrs.get("id") == element_id]
        assert found, f"no element #{element_id}"
        return found[0]

    def visible_text(self) -> str:
        """Text a reader sees: script and style contents left out."""
        return " ".join(
            " ".join(element.text)
            for element in self.walk()
            if element.tag not in ("script", "style")
        )


class _TreeBuilder(HTMLParser):
    VOID = frozenset(("meta", "link", "br", "img", "input", "hr", "col", "source", "wbr", "area"))

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(element)
        if tag not in self.VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(Element(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag):
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data):
        if data.strip():
            self.stack[-1].text.append(data.strip())


def _chromium(args: list[str], profile: Path) -> str:
    done = subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def rendered_dom(page: Path, profile: Path) -> Element:
    """The page's DOM after its scripts ran, as Chromium serialises it."""
    builder = _TreeBuilder()
    builder.feed(_chromium(["--dump-dom", page.as_uri()], profile))
    return builder.root


def screenshot(page: Path, png: Path, profile: Path) -> Image.Image:
    width, height = WINDOW
    _chromium([f"--screenshot={png}", f"--window-size={width},{height}", page.as_uri()], profile)
    return Image.open(png)


def assert_not_blank(image: Image.Image) -> None:
    assert image.size == WINDOW
    grey = image.convert("L")
    low, high = grey.getextrema()
    assert high - low > 100  # dark text on a light page, not one flat colour
    assert ImageStat.Stat(grey).stddev[0] > 10
    assert len(image.convert("RGB").getcolors(maxcolors=1 << 20) or []) > 50  # charts' colours


def _query(layout: Layout, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(layout.duckdb_path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


@pytest.fixture(scope="module")
def ra_page(billed_operator: Layout, tmp_path_factory: pytest.TempPathFactory) -> Element:
    page = ra_report_path(billed_operator, PERIOD)
    assert page.exists(), "the DAG's report task writes the RA report"
    return rendered_dom(page, tmp_path_factory.mktemp("chromium-ra"))


def _bar_points(chart: Element) -> list[Element]:
    # plotly draws each bar (and each waterfall step) as a <g class="point"> holding a path;
    # scatter markers are <path class="point">, so counting <g> leaves the recovered line out.
    return chart.find_all("g", "point")


def test_leakage_chart_has_a_bar_per_period_and_category(
    ra_page: Element, billed_operator: Layout
) -> None:
    chart = ra_page.by_id("leakage-chart")
    assert chart.find_all("svg", "main-svg"), "plotly drew no SVG"
    groups = _query(
        billed_operator,
        "select distinct billing_period, category from fct_leakage_findings",
    )
    categories = {category for _, category in groups}
    assert groups
    assert len(_bar_points(chart)) == len(groups)
    legend = chart.find_all("g", "legend")[0]
    names = {element.text[0] for element in legend.find_all("text") if element.text}
    assert categories <= names
    recovered = _query(billed_operator, "select count(*) from rpt_ra_recovered_by_month")
    assert ("recovered" in names) == (recovered[0][0] > 0)


def test_waterfall_has_a_bar_per_step_and_gap(ra_page: Element, billed_operator: Layout) -> None:
    chart = ra_page.by_id("waterfall-chart")
    assert chart.find_all("svg", "main-svg"), "plotly drew no SVG"
    steps = _query(
        billed_operator,
        "select step_order, kind, reason from rpt_usage_e2e_waterfall where billing_period = ?",
        [PERIOD],
    )
    levels = [row for row in steps if row[1] == "level"]
    assert len(levels) >= 2, "switch and billed at least"
    assert len(_bar_points(chart)) == len(steps)
    table_rows = ra_page.by_id("waterfall-steps").find_all("tr")
    assert len(table_rows) == len(steps) + 1


def test_fraud_table_lists_the_top_alerts(ra_page: Element, billed_operator: Layout) -> None:
    top = _query(
        billed_operator,
        "select alert_id, detector from fct_fraud_alerts where billing_period = ? "
        "order by score desc, amount_at_risk_micros desc, alert_id limit ?",
        [PERIOD, TOP_ALERTS],
    )
    rows = ra_page.by_id("fraud-alerts").find_all("tr", "alert-row")
    shown = [row.find_all("code")[0].text[0] for row in rows]
    assert shown == [alert_id for alert_id, _ in top]
    if top:
        chart = ra_page.by_id("fraud-chart")
        assert chart.find_all("svg", "main-svg")
        assert len(_bar_points(chart)) == len(top)


def test_headline_and_validation_results_per_domain(
    ra_page: Element, billed_operator: Layout
) -> None:
    ((findings, at_risk),) = _query(
        billed_operator,
        "select count(*), coalesce(sum(amount_at_risk_micros), 0) "
        "from fct_leakage_findings where billing_period = ?",
        [PERIOD],
    )
    headline = {
        row.find_all("td")[0].text[0]: row.find_all("td")[1].text[0]
        for row in ra_page.by_id("headline-figures").find_all("tr")[1:]
    }
    assert headline["leakage findings"] == str(findings)
    dollars = (Decimal(at_risk) / 1_000_000).quantize(Decimal("0.01"), ROUND_HALF_EVEN)
    assert headline["amount at risk (leakage)"] == f"${dollars:,}"
    domains = {
        row.find_all("td")[0].text[0]
        for row in ra_page.by_id("validation-results").find_all("tr", "domain-row")
    }
    assert domains == {domain.name for domain in audit_domains()}
    assert ra_page.find_all(cls="unavailable") == [], "a section says not available"


def test_ra_report_screenshot_is_not_blank(billed_operator: Layout, tmp_path: Path) -> None:
    image = screenshot(
        ra_report_path(billed_operator, PERIOD), tmp_path / "ra_report.png", tmp_path / "p"
    )
    assert_not_blank(image)


def test_data_docs_audit_index_lists_every_suite_of_every_audit_domain_offline(
    billed_operator: Layout, tmp_path: Path
) -> None:
    # GX's own index.html fills its tables from CDN scripts, so offline it lists nothing;
    # the audit index links the same suite and validation pages with no script.
    index = billed_operator.reports / "data_docs" / "audit_index.html"
    shown = rendered_dom(index, tmp_path / "profile").visible_text()
    for domain in audit_domains():
        for frame in domain.frames:
            assert frame.suite_name in shown, frame.suite_name
    assert_not_blank(screenshot(index, tmp_path / "data_docs_index.png", tmp_path / "p"))


def test_data_docs_validation_pages_of_every_audit_domain_render(
    billed_operator: Layout, tmp_path: Path
) -> None:
    validations = billed_operator.reports / "data_docs" / "validations"
    for domain in audit_domains():
        pages = sorted((validations / domain.name).rglob("*.html"))
        assert pages, f"no validation page of {domain.name}"
        shown = rendered_dom(pages[0], tmp_path / f"profile-{domain.name}").visible_text()
        assert any(frame.suite_name in shown for frame in domain.frames), domain.name
        assert "Expectation Validation Result" in shown
    assert_not_blank(screenshot(pages[0], tmp_path / "data_docs_validation.png", tmp_path / "p"))
