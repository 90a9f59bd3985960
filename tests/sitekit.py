"""Shared helpers for tests that build whole fixture sites."""

from __future__ import annotations

from typing import TYPE_CHECKING

import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

from banmian.pipeline import BuildOptions, BuildResult, build

if TYPE_CHECKING:
    import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def copy_fixture(name: str, destination: Path) -> Path:
    target = destination / name
    shutil.copytree(FIXTURES / name, target, ignore=shutil.ignore_patterns(".banmian-cache", "site"))
    return target


def build_site(source: Path, output: Path, **options: object) -> BuildResult:
    return build(BuildOptions(source=source, output=output, jobs=1, **options))  # type: ignore[arg-type]


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "build.py"), *args],
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


class BuiltPaper:
    """A fixture paper built into a temp folder, with its resolved site for reference."""

    def __init__(self, source: Path, output: Path) -> None:
        from banmian.cache import BuildCache
        from banmian.pipeline import load_site

        self.source = source
        self.output = output
        self.site = load_site(BuildOptions(source=source, output=output), BuildCache()).site
        self.base_url = self.site.paper.base_url
        self.origin = self.base_url[: len(self.base_url) - len(self.site.paper.base_path)]

    def file_for(self, url: str) -> Path:
        """The built file a URL on base_url is served from."""
        assert url.startswith(self.base_url), url
        rest = url[len(self.base_url) :]
        return self.output / (rest + "index.html" if rest.endswith("/") or not rest else rest)


def build_fixture(factory: "pytest.TempPathFactory", name: str, kind: type[BuiltPaper] = BuiltPaper) -> BuiltPaper:
    root = factory.mktemp(name.replace("/", "-"))
    source = copy_fixture(name, root)
    build_site(source, root / "site")
    return kind(source, root / "site")


def tree_bytes(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


class VisibleText(HTMLParser):
    """Collects the text a reader sees, with the lang in force for each run."""

    SKIP = {"script", "style", "code", "pre"}
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, str | None]] = []
        self.runs: list[tuple[str, str]] = []  # (lang, text)
        self.attrs: list[tuple[str, str]] = []  # (lang, visible attribute value)

    def lang(self) -> str:
        for _, lang in reversed(self.stack):
            if lang:
                return lang
        return ""

    def skipping(self) -> bool:
        return any(tag in self.SKIP for tag, _ in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        lang = values.get("lang")
        if tag not in self.VOID:
            self.stack.append((tag, lang))
        for name in ("alt", "title", "placeholder", "aria-label"):
            if values.get(name):
                self.attrs.append((lang or self.lang(), values[name] or ""))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                break

    def handle_data(self, data: str) -> None:
        if data.strip() and not self.skipping():
            self.runs.append((self.lang(), data))


def visible_text(html: str) -> VisibleText:
    parser = VisibleText()
    parser.feed(html)
    return parser
