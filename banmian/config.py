"""newspaper.toml: read and validated, with messages a desk understands."""

from __future__ import annotations

import re
import tomllib
import zoneinfo
from pathlib import Path
from typing import Any

from .errors import Problem, did_you_mean
from .model import PAGE_CODE, Edition, Newspaper, frozen_map
from .walk import CONFIG_NAME

KNOWN_KEYS = {
    "title",
    "base_url",
    "timezone",
    "default_edition",
    "editions",
    "page_names",
    "feed_issues",
    "feed_full_text",
    "description",
}
EDITION_KEYS = {"code", "path", "label", "opencc"}
EDITION_PATH = re.compile(r"^[a-z0-9][a-z0-9-]*$")
# Paths the site itself uses at its root: an edition must not shadow them.
RESERVED_PATHS = {"static", "issues.json", "sitemap.xml", "robots.txt", "404.html"}

DEFAULT_EDITIONS = (
    Edition(code="zh-Hans", path="zh-hans", label="简体", opencc=None),
    Edition(code="zh-Hant", path="zh-hant", label="繁體", opencc="s2tw"),
)


def _line_finder(text: str):  # type: ignore[no-untyped-def]
    lines = text.splitlines()

    def line_of(key: str, start: int = 0) -> int | None:
        pattern = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
        for number, line in enumerate(lines[start:], start + 1):
            if pattern.match(line):
                return number
        return None

    return line_of


def _opencc_configs() -> set[str]:
    import opencc

    folder = Path(opencc.__file__).parent / "clib" / "share" / "opencc"
    return {p.stem for p in folder.glob("*.json")}


def load_config(source: Path) -> tuple[Newspaper | None, list[Problem]]:
    path = source / CONFIG_NAME
    shown = CONFIG_NAME
    if not path.is_file():
        return None, [Problem(str(path), None, f"no {CONFIG_NAME} here; `python build.py new` or copy the sample's")]
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
        data = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        return None, [Problem(shown, None, f"not UTF-8 ({exc.reason}); save it as UTF-8")]
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+)", str(exc))
        line = int(match.group(1)) if match else None
        return None, [Problem(shown, line, f"TOML syntax error: {str(exc).split(' (at')[0]}")]
    return parse_config(data, text, shown)


def parse_config(data: dict[str, Any], text: str, shown: str) -> tuple[Newspaper | None, list[Problem]]:
    line_of = _line_finder(text)
    problems: list[Problem] = []

    def error(key: str, message: str) -> None:
        problems.append(Problem(shown, line_of(key), message))

    for key in data:
        if key not in KNOWN_KEYS:
            problems.append(
                Problem(shown, line_of(key), f"unknown setting {key!r}{did_you_mean(key, KNOWN_KEYS)}", "warning")
            )

    def text_value(key: str, default: str | None = None) -> str:
        value = data.get(key, default)
        if value is None:
            error(key, f"{key} is required")
            return ""
        if not isinstance(value, str):
            error(key, f"{key} must be a string, not {type(value).__name__}")
            return ""
        return value.strip()

    title = text_value("title")
    base_url = text_value("base_url", "/")
    if base_url and not re.match(r"^(https?://[^/\s]+)?/?", base_url):
        error("base_url", "base_url must look like https://epaper.example.org/")
    if not base_url.endswith("/"):
        base_url += "/"
    timezone = text_value("timezone", "Asia/Shanghai")
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        error("timezone", f"unknown time zone {timezone!r} (e.g. Asia/Shanghai, Asia/Hong_Kong, Asia/Taipei)")

    editions = _editions(data.get("editions"), text, problems, shown)
    default_edition = text_value("default_edition", editions[0].code if editions else "zh-Hans")
    if editions and default_edition not in {e.code for e in editions}:
        codes = ", ".join(e.code for e in editions)
        error("default_edition", f"default_edition {default_edition!r} is not one of the editions ({codes})")

    page_names = data.get("page_names", {})
    if not isinstance(page_names, dict) or not all(isinstance(v, str) for v in page_names.values()):
        error("page_names", "[page_names] maps page codes to names, e.g. A01 = \"要闻\"")
        page_names = {}
    for code in page_names:
        if not PAGE_CODE.match(code):
            error(code, f"page code {code!r} in [page_names] must be letters then digits (A01, B12, 01)")

    feed_issues = data.get("feed_issues", 7)
    if not isinstance(feed_issues, int) or isinstance(feed_issues, bool) or feed_issues < 1:
        error("feed_issues", "feed_issues must be a whole number ≥ 1")
        feed_issues = 7
    feed_full_text = data.get("feed_full_text", True)
    if not isinstance(feed_full_text, bool):
        error("feed_full_text", "feed_full_text must be true or false")
        feed_full_text = True
    description = data.get("description", "")
    if not isinstance(description, str):
        error("description", "description must be a string")
        description = ""

    if any(p.severity == "error" for p in problems) or not editions:
        return None, problems
    paper = Newspaper(
        title=title,
        base_url=base_url,
        timezone=timezone,
        default_edition=default_edition,
        editions=tuple(editions),
        page_names=frozen_map(page_names),
        feed_issues=feed_issues,
        feed_full_text=feed_full_text,
        description=description,
    )
    return paper, problems


def _editions(raw: Any, text: str, problems: list[Problem], shown: str) -> list[Edition]:
    line_of = _line_finder(text)
    if raw is None:
        return list(DEFAULT_EDITIONS)
    if not isinstance(raw, list) or not raw:
        problems.append(Problem(shown, line_of("editions"), "editions must be [[editions]] tables"))
        return []
    editions: list[Edition] = []
    known_configs: set[str] | None = None
    for number, item in enumerate(raw, 1):
        where = _nth_edition_line(text, number)
        if not isinstance(item, dict):
            problems.append(Problem(shown, where, "each [[editions]] entry must be a table"))
            continue
        for key in item:
            if key not in EDITION_KEYS:
                problems.append(
                    Problem(shown, where, f"unknown edition setting {key!r}{did_you_mean(key, EDITION_KEYS)}", "warning")
                )
        code, path, label = (item.get(k) for k in ("code", "path", "label"))
        if not all(isinstance(v, str) and v for v in (code, path, label)):
            problems.append(Problem(shown, where, "an edition needs code, path and label (strings)"))
            continue
        if not EDITION_PATH.match(path) or path in RESERVED_PATHS:
            problems.append(Problem(shown, where, f"edition path {path!r} must be lowercase letters, digits and '-'"))
            continue
        opencc_config = item.get("opencc")
        if opencc_config is not None:
            if known_configs is None:
                known_configs = _opencc_configs()
            name = str(opencc_config).removesuffix(".json")
            if known_configs and name not in known_configs:
                choices = ", ".join(sorted(known_configs))
                problems.append(Problem(shown, where, f"unknown OpenCC config {opencc_config!r} (one of: {choices})"))
                continue
            opencc_config = name
        editions.append(Edition(code=code, path=path, label=label, opencc=opencc_config))
    sources = [e for e in editions if e.is_source]
    if editions and len(sources) != 1:
        problems.append(
            Problem(shown, line_of("editions"), "exactly one edition must have no opencc: it is the source (简体)")
        )
    for attr in ("code", "path"):
        values = [getattr(e, attr) for e in editions]
        for value in {v for v in values if values.count(v) > 1}:
            problems.append(Problem(shown, None, f"two editions share the {attr} {value!r}"))
    return editions


def _nth_edition_line(text: str, n: int) -> int | None:
    """Line of the n-th [[editions]] header, so a message points at its table."""
    seen = 0
    for number, line in enumerate(text.splitlines(), 1):
        if re.match(r"^\s*\[\[\s*editions\s*\]\]", line):
            seen += 1
            if seen == n:
                return number
    return None
