"""The up-to-date check: a build with nothing changed does nothing, any change builds."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Callable

import pytest

import banmian.pipeline
import banmian.uptodate
from banmian import cli
from banmian.uptodate import stamp_path
from sitekit import copy_fixture, tree_bytes


class Desk:
    """A fixture newspaper built through the command line, counting real builds."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
        self.source = copy_fixture("paper", tmp_path)
        self.output = tmp_path / "out"
        self.capsys = capsys
        self.builds = 0
        real = banmian.pipeline.build

        def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
            self.builds += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(banmian.pipeline, "build", counted)

    def build(self, *extra: str) -> tuple[bool, str]:
        """(whether the pipeline ran, what was printed)."""
        before = self.builds
        code = cli.main(["build", "--source", str(self.source), "--output", str(self.output), "--jobs", "1", *extra])
        assert code == 0
        return self.builds > before, self.capsys.readouterr().err


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Desk:
    site = Desk(tmp_path, monkeypatch, capsys)
    assert site.build()[0]
    return site


def test_nothing_changed_is_answered_without_the_pipeline(desk: Desk) -> None:
    first = tree_bytes(desk.output)
    ran, printed = desk.build()
    assert not ran
    assert tree_bytes(desk.output) == first
    files = len([p for p in desk.output.rglob("*") if p.is_file()])
    assert f"0 files written, {files} unchanged" in printed


def test_the_warnings_of_the_last_build_are_shown_again(desk: Desk) -> None:
    article = desk.source / "content/2025-03-01/A01/jump.md"
    article.write_text(
        "---\ntitle: 转版的稿子\ndate: 2025-03-01\npage: A01\ncontinued_to: A09\n---\n\n正文。\n", encoding="utf-8"
    )
    ran, printed = desk.build()
    warnings = [line for line in printed.splitlines() if ": warning:" in line]
    assert ran and warnings and any("A09" in line for line in warnings)
    ran, again = desk.build()
    assert not ran
    assert [line for line in again.splitlines() if ": warning:" in line] == warnings


def _edit_article(desk: Desk) -> None:
    article = next((desk.source / "content").rglob("*.md"))
    article.write_text(article.read_text(encoding="utf-8") + "\n又及。\n", encoding="utf-8")


def _touch_article(desk: Desk) -> None:
    # Same bytes, new mtime: the check trusts a file's stat, as the cache does.
    article = next((desk.source / "content").rglob("*.md"))
    stat = article.stat()
    os.utime(article, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def _issue_file(desk: Desk) -> None:
    (desk.source / "content/2025-03-01/issue.toml").write_text("number = 12345\n", encoding="utf-8")


def _config(desk: Desk) -> None:
    config = desk.source / "newspaper.toml"
    config.write_text(config.read_text(encoding="utf-8") + "\n# 校对\n", encoding="utf-8")


def _template(desk: Desk) -> None:
    folder = desk.source / "templates"
    folder.mkdir(exist_ok=True)
    (folder / "404.html").write_text('{% extends "base.html" %}{% block main %}<p>找不到</p>{% endblock %}\n', encoding="utf-8")


def _static(desk: Desk) -> None:
    folder = desk.source / "static"
    folder.mkdir(exist_ok=True)
    (folder / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>\n', encoding="utf-8")


def _record(desk: Desk) -> None:
    record = desk.source / "content/.published.json"
    data = json.loads(record.read_text(encoding="utf-8"))
    record.write_text(json.dumps(data, ensure_ascii=False, indent=4), encoding="utf-8")


def _output_top_file_removed(desk: Desk) -> None:
    (desk.output / "robots.txt").unlink()


def _output_replaced(desk: Desk) -> None:
    shutil.copytree(desk.output, desk.output.with_name("copy"))
    shutil.rmtree(desk.output)
    desk.output.with_name("copy").rename(desk.output)


def _stamp_garbled(desk: Desk) -> None:
    stamp_path(desk.source).write_text("{not json", encoding="utf-8")


CHANGES: dict[str, Callable[[Desk], None]] = {
    "article edited": _edit_article,
    "article touched": _touch_article,
    "issue.toml": _issue_file,
    "newspaper.toml": _config,
    "template": _template,
    "static file": _static,
    "record of URLs": _record,
    "output top file removed": _output_top_file_removed,
    "output replaced": _output_replaced,
    "stamp garbled": _stamp_garbled,
}


@pytest.mark.parametrize("change", CHANGES, ids=list(CHANGES))
def test_any_change_builds_and_the_build_after_is_answered_again(desk: Desk, change: str) -> None:
    CHANGES[change](desk)
    ran, _ = desk.build()
    assert ran
    assert (desk.output / "robots.txt").is_file()
    assert not desk.build()[0]


@pytest.mark.parametrize("options", [("--drafts",), ("--base-url", "https://mirror.example.org/")])
def test_other_options_build(desk: Desk, options: tuple[str, ...]) -> None:
    assert desk.build(*options)[0]
    assert not desk.build(*options)[0]
    assert desk.build()[0]  # and back


def test_a_new_version_of_banmian_builds(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(banmian.uptodate, "code_digest", lambda: "another version")
    assert desk.build()[0]


def test_no_cache_neither_reads_nor_trusts_the_stamp(desk: Desk) -> None:
    assert desk.build("--no-cache")[0]
    assert desk.build()[0]  # the --no-cache build replaced the output folder
