"""The content readers come for: the built site has the pages, the landing page's comparison
tables are complete, troubleshooting quotes the ten error texts of the reference, and every API
name on the landing page links to a section of the API guide.

The site is built once per session into a temporary directory (HTML builder, warnings allowed,
so that each test reports its own finding instead of one failed build).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag

import pytest

ROOT = Path(__file__).resolve().parent.parent

PAGES = [
    "kbase/domainstatecapture",
    "kbase/index",
    "kbase/backup-full",
    "kbase/backup-incremental",
    "kbase/backup-pull",
    "kbase/backup-freeze",
    "kbase/checkpoint-redefine",
    "kbase/checkpoint-delete",
    "kbase/snapshot-revert-checkpoints",
    "kbase/troubleshooting",
    "docs/formatbackup",
    "docs/formatcheckpoint",
    "docs/formatsnapshot",
    "docs/cli",
    "docs/api/index",
    "docs/api/other",
]

#: Every mechanism issue 6 lists, and how its row in the comparison table is recognised.
MECHANISMS = {
    "internal snapshot": r"internal snapshot",
    "external snapshot": r"external snapshot",
    "disk-only snapshot": r"disk-only snapshot",
    "full-system snapshot": r"full-system snapshot",
    "manual snapshot": r"manual snapshot",
    "checkpoint": r"checkpoint",
    "push backup": r"push backup",
    "pull backup": r"pull backup",
    "full backup": r"full backup",
    "incremental backup": r"incremental backup",
    "differential backup": r"differential backup",
    "save/restore": r"save / restore",
    "managed save": r"managed save",
    "core dump": r"core dump",
    "block copy": r"block copy",
    "block commit": r"block commit",
    "block pull": r"block pull",
    "migration": r"migration",
    "filesystem freeze/thaw": r"filesystem freeze / thaw",
}
#: The landing page compares the mechanisms in two narrow tables with the same rows: what each
#: keeps and costs, and how each is started. Their ids and the columns of each.
TABLES = {
    "capture-comparison": ["Mechanism", "What it captures", "Guest keeps running?", "Cost",
                           "Typical use"],
    "capture-calls": ["Mechanism", "C API", "Python method", "virsh command", "Since"],
}
#: Names the landing page mentions precisely to say that they do not exist.
NONEXISTENT_APIS = {"virDomainBackupEnd", "virDomainSnapshotCreateXML2"}
#: Failures 7 and 8 of state-capture.md section 3 quote no message; these are the messages the
#: same file gives for them elsewhere (sections 2.4 and 2.2).
#: The ten failures readers hit most (tool authors' bug trackers), by the texts they search for;
#: "…", "%s", "%d" and a lone N stand for any value.
FAILURE_TEXTS = {
    1: ["creating checkpoint for incremental backup is not supported yet",
        "Cannot store dirty bitmaps in qcow2 v2 files"],
    2: ["Bitmap already exists"],
    3: ["checkpoint inconsistent: missing or broken bitmap"],
    4: ["bitmap '…' not found in backing chain"],
    5: ["cannot delete inactive domain with N checkpoints"],
    6: ["operation failed: domain moment virtnbdbackup.1 already exists"],
    7: ["definition for checkpoint %s must use uuid %s"],
    8: ["Checkpoint '%s' for incremental backup of disk '%s' not found"],
    9: ["revert to external snapshot not supported yet",
        "no external snapshots with checkpoints"],
    10: ["cannot acquire state change lock (held by monitor=remoteDispatchDomainBackupBegin)",
         "Failed to bind socket … Permission denied"],
}


@dataclass
class Page:
    """What the tests need from one built HTML page."""

    text: str = ""
    ids: set[str] = field(default_factory=set)
    links: list[tuple[str, str]] = field(default_factory=list)  # (href, text)
    tables: dict[str, list[list[str]]] = field(default_factory=dict)  # id -> rows of cells
    images: list[tuple[str, str]] = field(default_factory=list)  # (src, alt)


class _PageParser(HTMLParser):
    """Collects the article's text, ids, links, tables with an id, and images."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self._text: list[str] = []
        self._link: tuple[str, list[str]] | None = None
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._skip = 0  # inside <script> or <style>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if "id" in attributes:
            self.page.ids.add(attributes["id"])
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "a" and "reference" in attributes.get("class", ""):
            self._link = (attributes.get("href", ""), [])
        elif tag == "table" and "id" in attributes:
            self._table = attributes["id"]
            self.page.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "img":
            self.page.images.append((attributes.get("src", ""), attributes.get("alt", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1
        elif tag == "a" and self._link is not None:
            href, parts = self._link
            self.page.links.append((href, _squash("".join(parts))))
            self._link = None
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(_squash("".join(self._cell)))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            self.page.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self._text.append(data)
        if self._link is not None:
            self._link[1].append(data)
        if self._cell is not None:
            self._cell.append(data)

    def close(self) -> None:
        super().close()
        self.page.text = _squash(" ".join(self._text))


def _squash(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built once into a temporary directory."""
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-q", "-b", "html", "-d", str(out / ".doctrees"),
         str(ROOT), str(out / "html")],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, f"sphinx-build failed:\n{result.stderr}"
    return out / "html"


def read_page(site: Path, name: str) -> Page:
    path = site / f"{name}.html"
    assert path.is_file(), f"the built site has no page {name}"
    parser = _PageParser()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return parser.page


@pytest.mark.parametrize("name", PAGES)
def test_page_exists(site: Path, name: str) -> None:
    page = read_page(site, name)
    assert page.text, f"{name} is empty"


@pytest.mark.parametrize("table_id", sorted(TABLES))
def test_comparison_table_has_a_complete_row_per_mechanism(site: Path, table_id: str) -> None:
    table = read_page(site, "kbase/domainstatecapture").tables.get(table_id)
    assert table, f"the landing page has no table with id {table_id}"
    columns = TABLES[table_id]
    header, *rows = table
    assert header == columns
    for row in rows:
        assert len(row) == len(columns), f"row {row[0]!r} has {len(row)} cells"
        empty = [columns[i] for i, cell in enumerate(row) if not cell]
        assert not empty, f"row {row[0]!r} has empty cells: {empty}"
    names = [row[0].lower() for row in rows]
    for mechanism, pattern in MECHANISMS.items():
        matches = [name for name in names if re.fullmatch(pattern, name)]
        assert len(matches) == 1, f"{mechanism}: rows {matches} among {names}"


def test_comparison_tables_list_the_same_mechanisms_in_the_same_order(site: Path) -> None:
    tables = read_page(site, "kbase/domainstatecapture").tables
    first_columns = {table_id: [row[0] for row in tables.get(table_id, [])] for table_id in TABLES}
    assert all(first_columns.values()), f"a comparison table is missing: {sorted(tables)}"
    assert len({tuple(column) for column in first_columns.values()}) == 1, first_columns


def text_pattern(text: str) -> re.Pattern[str]:
    """A quoted text as a pattern: ellipses, %s/%d and a lone N stand for any value."""
    parts = re.split(r"(…|%s|%d|\bN\b)", text)
    pattern = "".join(".+?" if part in ("…", "%s", "%d", "N") else re.escape(part)
                      for part in parts)
    return re.compile(pattern.replace(r"\ ", " "))


def test_troubleshooting_quotes_each_error_text(site: Path) -> None:
    page = read_page(site, "kbase/troubleshooting")
    missing = [(number, text) for number, quoted in FAILURE_TEXTS.items() for text in quoted
               if not text_pattern(text).search(page.text)]
    assert not missing, f"texts not quoted on the troubleshooting page: {missing}"


def api_names(text: str) -> Iterator[str]:
    """C function names and Python method calls (dom.x, conn.x) mentioned in a text."""
    for match in re.finditer(r"\b(vir[A-Z]\w+|(?:dom|conn)\.\w+)", text):
        if match.group(1) not in NONEXISTENT_APIS:
            yield match.group(1)


def test_every_api_name_on_the_landing_page_links_to_the_api_guide(site: Path) -> None:
    landing = read_page(site, "kbase/domainstatecapture")
    names = set(api_names(landing.text))
    assert names, "the landing page names no API at all"
    targets: dict[str, set[str]] = {}
    for href, text in landing.links:
        url, anchor = urldefrag(href)
        target = (site / "kbase" / url).resolve()
        if "/docs/api/" not in target.as_posix() or not anchor:
            continue
        for name in api_names(text):
            targets.setdefault(name, set()).add(f"{target}#{anchor}")
    unlinked = sorted(names - set(targets))
    assert not unlinked, f"API names without a link into the API guide: {unlinked}"
    broken = []
    for name, refs in targets.items():
        for ref in refs:
            path, anchor = ref.split("#")
            if not Path(path).is_file() or anchor not in read_section_ids(path):
                broken.append((name, ref))
    assert not broken, f"links into the API guide that lead nowhere: {broken}"


def read_section_ids(path: str) -> set[str]:
    parser = _PageParser()
    parser.feed(Path(path).read_text(encoding="utf-8"))
    parser.close()
    return parser.page.ids


def test_landing_page_shows_both_diagrams_with_alt_text(site: Path) -> None:
    images = dict(read_page(site, "kbase/domainstatecapture").images)
    for picture in ("backup-push-pull.svg", "checkpoint-chain.svg"):
        src = next((s for s in images if s.endswith(picture)), None)
        assert src is not None, f"the landing page does not show {picture}"
        assert len(images[src]) > 40, f"{picture} has no real alt text"
        assert (site / "kbase" / src).resolve().is_file()
