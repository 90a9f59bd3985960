"""The load stage: content/**/*.md and issue.toml into validated records.

Front matter is read as YAML *nodes*, not constructed values, so that every
message can name the line of the key it is about, and so that `page: 01` stays
the page code "01" instead of YAML 1.1's integer 1. The plain `key: value`
lines most files have are read without PyYAML, to the same nodes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Container, Iterable, Mapping, NamedTuple, Sequence

from .errors import Problem, did_you_mean
from .model import PAGE_CODE, ArticleSource, IssueMeta, PageMeta, frozen_map, with_body
from .walk import CONTENT_DIR, ContentEntry, content_entries, issue_files

if TYPE_CHECKING:
    import yaml

FRONT_MATTER_KEYS = (
    "title",
    "kicker",
    "subtitle",
    "date",
    "page",
    "page_name",
    "reporter",
    "role",
    "column",
    "order",
    "continued_to",
    "continued_from",
    "slug",
    "summary",
    "draft",
    "image",
)
KNOWN_KEYS = frozenset(FRONT_MATTER_KEYS)
TEXT_KEYS = ("title", "kicker", "subtitle", "page_name", "role", "column", "slug", "summary", "image")
# Common other spellings a desk may type; they are accepted as the real key.
ALIASES = {"reporters": "reporter", "author": "reporter", "authors": "reporter"}
DATE_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}$")
NAME_SEPARATORS = re.compile(r"[、，,；;]")


@dataclass(frozen=True)
class Content:
    articles: tuple[ArticleSource, ...]
    issues: Mapping[dt.date, IssueMeta]
    problems: tuple[Problem, ...]
    files_read: int
    parsed: Mapping[str, tuple[ArticleSource | None, tuple[Problem, ...]]] = field(default_factory=dict)
    # The keys of parsed this load parsed (the others came from the cache,
    # their bodies left out already): a rebuild's one or two.
    parsed_now: tuple[str, ...] = ()

    def bodies_left_out(self, rendered: Container[str], every: bool = False) -> Content:
        """This content with the Markdown of every body in rendered (by
        digest) left out, as the build cache keeps it: once rendered, a
        cold build held it to its end for nothing (23 MB at 10,000 articles).

        Only the records this load parsed are looked at (the cache's have
        theirs left out), unless every: a draft's record keeps its body in
        the cache until a build renders it (--drafts)."""
        lighter: dict[int, ArticleSource] = {}
        changed: dict[str, Parsed] = {}
        for key in self.parsed if every else self.parsed_now:
            article, found = self.parsed[key]
            if article is not None and article.body != BODY_LEFT_OUT and article.digest in rendered:
                lighter[id(article)] = light = with_body(article, BODY_LEFT_OUT)
                changed[key] = (light, found)
        if not lighter:
            return self
        articles = tuple([lighter.get(id(article), article) for article in self.articles])
        return Content(articles, self.issues, self.problems, self.files_read, {**self.parsed, **changed}, self.parsed_now)


def _read(path: str, size: int) -> bytes:
    """The file's bytes; size (from its stat) lets one read call take them
    all, without a buffered file object per file."""
    fd = os.open(path, os.O_RDONLY)
    try:
        data = os.read(fd, size + 1)
        if len(data) <= size:
            return data
        # It grew since its stat: read on to its end.
        chunks = [data]
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


Parsed = tuple[ArticleSource | None, tuple[Problem, ...]]
# The body of a cached record whose rendered body is cached instead.
BODY_LEFT_OUT = "\x00(body in the rendered-body cache)"


def parse_many(batch: Sequence[tuple[bytes, str, str]]) -> list[Parsed]:
    results: list[Parsed] = []
    for raw, shown, digest in batch:
        article, found = parse_article(raw, shown, digest)
        results.append((article, tuple(found)))
    return results


def load_content(
    source: Path,
    cache: Mapping[str, Parsed] | None = None,
    stats: dict[str, tuple[int, int, int, str]] | None = None,
    rendered: Container[str] = (),
    entries: Iterable[ContentEntry] | None = None,
    issue_cache: dict[str, ParsedIssue] | None = None,
) -> Content:
    """Read every article and issue.toml under source/content.

    cache maps "file:digest" keys of earlier builds to what parsing gave
    (the record and its warnings), so an unchanged file is not parsed again.
    stats (path → mtime, size, inode, digest) is read and updated: a file whose
    stat is unchanged is not even read; its digest is taken from last time.
    Cached records may have their Markdown body left out (the cache keeps the
    rendered body instead); such a record is used only when its digest is in
    rendered, else the file is parsed again. entries: content_entries() of
    source/content, when the caller has just walked it. issue_cache: the
    issue.toml files parsed before, by stat (see _load_issues).
    """
    root = source / CONTENT_DIR
    problems: list[Problem] = []
    if not root.is_dir():
        problems.append(Problem(str(root), None, "no content folder: articles go in content/<date>/<page>/*.md"))
        return Content((), {}, tuple(problems), 0)
    seen_stats = stats if stats is not None else {}
    fresh_stats: dict[str, tuple[int, int, int, str]] = {}
    count = 0
    prefix = len(str(root))  # os.walk yields paths that start with root as given
    # In file order: a key with what parsing gave, or with None until parsed;
    # a read error as a problem in its place.
    found: list[tuple[str, Parsed | None] | Problem] = []
    pending: list[tuple[bytes, str, str]] = []
    # This loop runs for every file of the archive on every build (10,000
    # at 10,000 articles, ~4 µs each): an unchanged file's stat row is kept
    # as the same tuple, and nothing is asked twice.
    slashes = os.sep == "/"
    for path, stat in entries if entries is not None else content_entries(root):
        count += 1
        shown = CONTENT_DIR + (path[prefix:] if slashes else path[prefix:].replace(os.sep, "/"))
        try:
            if isinstance(stat, OSError):
                raise stat
            row = seen_stats.get(shown)
            if row is not None and cache and row[0] == stat.st_mtime_ns and row[1] == stat.st_size and row[2] == stat.st_ino:
                digest = row[3]
                raw = None
            else:
                raw = _read(path, stat.st_size)
                digest = hashlib.blake2b(raw, digest_size=16).hexdigest()
                row = (stat.st_mtime_ns, stat.st_size, stat.st_ino, digest)
            key = f"{shown}:{digest}"
            result = cache.get(key) if cache else None
            if result is not None and result[0] is not None and result[0].body == BODY_LEFT_OUT and digest not in rendered:
                result = None
            if result is None:
                pending.append((_read(path, stat.st_size) if raw is None else raw, shown, digest))
        except OSError as exc:
            found.append(Problem(shown, None, f"cannot read: {exc.strerror}"))
            continue
        found.append((key, result))
        fresh_stats[shown] = row
    fresh = iter(parse_many(pending))
    articles: list[ArticleSource] = []
    parsed: dict[str, Parsed] = {}
    parsed_now: list[str] = []
    for item in found:
        if isinstance(item, Problem):
            problems.append(item)
            continue
        key, result = item
        if result is None:
            result = next(fresh)
            parsed_now.append(key)
        parsed[key] = result
        if result[1]:
            problems.extend(result[1])
        if result[0] is not None:
            articles.append(result[0])
    if stats is not None:
        stats.clear()
        stats.update(fresh_stats)
    issues = _load_issues(root, source, problems, issue_cache)
    return Content(tuple(articles), issues, tuple(problems), count, parsed, tuple(parsed_now))


def decode(raw: bytes, shown: str) -> tuple[str | None, Problem | None]:
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        try:
            raw.decode("gb18030")
            hint = (
                "it looks like GBK/GB18030; convert it to UTF-8, e.g. "
                f"`iconv -f GB18030 -t UTF-8 {shown} > tmp.md && mv tmp.md {shown}`"
            )
        except UnicodeDecodeError:
            hint = "save it as UTF-8"
        return None, Problem(shown, line, f"not UTF-8 text: {hint}")


def split_front_matter(text: str) -> tuple[str, int, str, int] | None:
    """(front matter, its first line, body, body's first line) or None."""
    # Only the head of the file is split into lines: the body, most of the
    # text, is sliced off whole. Every line of a prefix's split but its last
    # is a line of the whole text's split (a line cut short, or a "\r" cut
    # from its "\n", can only be the last), and the lines with their ends
    # add up to the text, so the body is all that follows the closing line.
    size = 512  # a front matter is a few hundred characters; a longer one takes another pass
    while True:
        whole = size >= len(text)
        lines = text[:size].splitlines(keepends=True)
        if not whole:
            del lines[-1]
        if lines:
            if lines[0].strip() != "---":
                return None
            for index in range(1, len(lines)):
                if lines[index].strip() in ("---", "..."):
                    front = "".join(lines[1:index])
                    body = text[len(lines[0]) + len(front) + len(lines[index]) :]
                    return front, 2, body, index + 2
        if whole:
            return None
        size *= 4


def parse_article(raw: bytes, shown: str, digest: str) -> tuple[ArticleSource | None, list[Problem]]:
    text, problem = decode(raw, shown)
    if text is None:
        return None, [problem] if problem else []
    parts = split_front_matter(text)
    if parts is None:
        return None, [Problem(shown, 1, "no front matter: start the file with --- and title/date/page, then ---")]
    front, front_line, body, body_line = parts
    entries = simple_entries(front, front_line)
    if entries is None:
        yaml = _yaml()
        try:
            entries = yaml_entries(front, front_line)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = front_line + mark.line if mark is not None else front_line
            reason = getattr(exc, "problem", None) or str(exc)
            return None, [Problem(shown, line, f"front matter is not valid YAML: {reason}")]
        if entries is None:
            return None, [Problem(shown, front_line, "front matter must be key: value lines")]
    return _FrontMatter(shown, front_line).build(entries, body, body_line, digest)


# -- front matter as entries ------------------------------------------------------------
# What front matter is made of, as YAML's composer sees it, with lines counted
# in the file: a front matter is a list of (key, its line, its value) entries,
# the key None when YAML gives something other than a plain word.
class Scalar(NamedTuple):
    value: str
    line: int
    # YAML's tag (…:str, …:null, …:bool); None for a plain scalar of the fast
    # reader, whose tag is resolved only when a key's meaning asks for it.
    tag: str | None


class Items(NamedTuple):
    """A YAML sequence (a list)."""

    items: tuple[Node, ...]
    line: int


class Table(NamedTuple):
    """A YAML mapping, which no front matter key takes."""

    line: int


Node = Scalar | Items | Table
Entry = tuple[str | None, int, Node]

STR_TAG = "tag:yaml.org,2002:str"
# The first characters of the plain scalars PyYAML's implicit resolvers read
# as something other than a string (null, bool, int, float, timestamp, merge,
# value, yaml: yaml.resolver.Resolver.yaml_implicit_resolvers, checked by
# tests/test_load.py). Any other plain scalar is a string: a title or a name
# needs no resolver, and a rebuild that parses an edited article of such
# lines no PyYAML at all (importing it took ~30 ms of a rebuild).
_RESOLVED_FIRST = frozenset("~nNyYtTfFoO+-.0123456789<=!&*")


@lru_cache(maxsize=1)
def _yaml():  # type: ignore[no-untyped-def]
    import yaml

    return yaml


@lru_cache(maxsize=1)
def _resolver() -> yaml.resolver.Resolver:
    # PyYAML resolves plain scalars' tags in Python for both of its loaders:
    # the same resolver gives the fast reader's scalars the same tags.
    return _yaml().resolver.Resolver()


@lru_cache(maxsize=4096)
def _plain_tag(value: str) -> str:
    if value and value[0] not in _RESOLVED_FIRST:
        return STR_TAG
    return _resolver().resolve(_yaml().ScalarNode, value, (True, False))


def tag_of(node: Scalar) -> str:
    return node.tag if node.tag is not None else _plain_tag(node.value)


def yaml_entries(front: str, first_line: int) -> list[Entry] | None:
    """The entries of any front matter, by PyYAML; None if it is not a mapping.

    Raises yaml.YAMLError for text that is not YAML.
    """
    yaml = _yaml()
    root = yaml.compose(front, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not isinstance(root, yaml.MappingNode):
        return None
    return [
        (key.value if isinstance(key, yaml.ScalarNode) else None, first_line + key.start_mark.line, _node(value, first_line))
        for key, value in root.value
    ]


def _node(node: yaml.Node, first_line: int) -> Node:
    yaml = _yaml()
    line = first_line + node.start_mark.line
    if isinstance(node, yaml.ScalarNode):
        return Scalar(node.value, line, node.tag)
    if isinstance(node, yaml.SequenceNode):
        return Items(tuple(_node(item, first_line) for item in node.value), line)
    return Table(line)


# The front matter banmian's tools and most desks write is a few lines of
# `key: value`, and composing it with PyYAML was most of the cost of loading
# an article. simple_entries() reads those lines itself, and only lines whose
# meaning in YAML is beyond doubt: a plain word for a key at the start of the
# line, ": ", then a value that is a plain scalar on one line, a
# single-quoted one, or a flow list of plain words. Anything else (comments,
# blank or indented lines, double quotes, tabs, control or invisible
# characters, a colon-space, a colon at the end or a space-hash in a value …)
# sends the whole front matter to PyYAML. tests/test_properties.py checks
# that the two readers agree wherever this one answers.
# Characters that make a YAML value something other than a plain scalar
# when they come first (quotes, lists, anchors, tags, block scalars …).
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
# A plain scalar in a flow list: no indicator first, none of the flow
# indicators, colons, hashes or quotes anywhere (spaces around are trimmed).
_FLOW_WORD = re.compile(r"[^-?:,\[\]{}#&*!|>'\"%@` ][^:,\[\]{}#'\"]*")


def simple_entries(front: str, first_line: int) -> list[Entry] | None:
    """The entries of simple front matter, exactly as yaml_entries() gives them; None when not simple."""
    if "\r" in front:
        front = front.replace("\r\n", "\n")  # one line break, to YAML as here
    lines = front.split("\n")
    # Checked once for the whole text: isprintable() refuses tabs, other
    # line breaks, control and format characters (a BOM, zero-width spaces)
    # and spaces YAML might read differently; a space-hash starts a comment;
    # a colon ends a value only to open a nested one; each line has one
    # colon-space, its key's: a second would make the value a mapping.
    if (
        len(lines) < 2
        or lines[-1]
        or "\r" in front
        or " #" in front
        or ":\n" in front
        or front.count(": ") != len(lines) - 1
        or not front.replace("\n", "").isprintable()
    ):
        return None
    del lines[-1]
    entries: list[Entry] = []
    line = first_line
    for text in lines:
        key, _, rest = text.partition(": ")
        # YAML skips the spaces before a value, and leaves those after a
        # plain scalar out of it.
        value = rest.strip(" ")
        if not value or not key.isidentifier() or not key.isascii() or len(key) > 64:
            return None
        node = Scalar(value, line, None) if value[0] not in _INDICATORS else _quoted_or_list(value, line)
        if node is None:
            return None
        entries.append((key, line, node))
        line += 1
    return entries


def _quoted_or_list(text: str, line: int) -> Node | None:
    if text[0] == "'":
        inner = text[1:-1]
        if len(text) < 2 or text[-1] != "'" or "'" in inner.replace("''", ""):
            return None
        return Scalar(inner.replace("''", "'"), line, STR_TAG)
    if text[0] == "[" and text[-1] == "]":
        items = []
        for item in text[1:-1].split(","):
            word = item.strip(" ")
            if not _FLOW_WORD.fullmatch(word):
                return None
            items.append(Scalar(word, line, None))
        return Items(tuple(items), line)
    return None


class _FrontMatter:
    """Turns front matter entries into an ArticleSource, collecting problems."""

    def __init__(self, shown: str, first_line: int) -> None:
        self.shown = shown
        self.first_line = first_line
        self.problems: list[Problem] = []

    def error(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.shown, line, message))

    def build(
        self, entries: list[Entry], body: str, body_line: int, digest: str
    ) -> tuple[ArticleSource | None, list[Problem]]:
        nodes: dict[str, Node] = {}
        lines: dict[str, int] = {}
        for key, key_line, value_node in entries:
            if key is None:
                self.error(key_line, "front matter keys must be plain words")
                continue
            key = ALIASES.get(key, key)
            if key not in KNOWN_KEYS:
                hint = did_you_mean(key, FRONT_MATTER_KEYS)
                self.problems.append(Problem(self.shown, key_line, f"unknown front matter key {key!r}{hint}", "warning"))
                continue
            if key in nodes:
                self.error(key_line, f"{key} is given twice")
            nodes[key] = value_node
            lines[key] = key_line

        values: dict[str, Any] = {}
        for key in TEXT_KEYS:
            if key in nodes:
                values[key] = self.text(nodes[key], key)
        for key in ("continued_to", "continued_from"):
            if key in nodes:
                values[key] = self.page_code(nodes[key], key)
        if "reporter" in nodes:
            values["reporters"] = self.names(nodes["reporter"])
        if "order" in nodes:
            values["order"] = self.integer(nodes["order"], "order")
        if "draft" in nodes:
            values["draft"] = self.boolean(nodes["draft"], "draft")
        date = self.date(nodes["date"]) if "date" in nodes else None
        page = self.page_code(nodes["page"], "page") if "page" in nodes else ""

        for key in ("title", "date", "page"):
            if key not in nodes:
                self.problems.append(Problem(self.shown, self.first_line, f"{key} is required"))
        if "title" in nodes and not values.get("title"):
            self.error(nodes["title"].line, "title must not be empty")
        if "slug" in nodes and values.get("slug"):
            self.check_slug(nodes["slug"], values["slug"])

        if date is None or not page or any(p.severity == "error" for p in self.problems):
            return None, self.problems
        article = ArticleSource(
            file=self.shown,
            digest=digest,
            date=date,
            page=page,
            body=body,
            body_line=body_line,
            lines=frozen_map(lines),  # type: ignore[arg-type]
            **values,
        )
        return article, self.problems

    def scalar(self, node: Node, key: str) -> Scalar | None:
        if isinstance(node, Scalar):
            return node
        self.error(node.line, f"{key} must be a single value, not a {'list' if isinstance(node, Items) else 'table'}")
        return None

    def text(self, node: Node, key: str) -> str:
        scalar = self.scalar(node, key)
        if scalar is None or tag_of(scalar).endswith(":null"):
            return ""
        return " ".join(scalar.value.split()) if key != "summary" else scalar.value.strip()

    def names(self, node: Node) -> tuple[str, ...]:
        items = node.items if isinstance(node, Items) else (node,)
        names: list[str] = []
        for item in items:
            scalar = self.scalar(item, "reporter")
            if scalar is None or tag_of(scalar).endswith(":null"):
                continue
            names.extend(n.strip() for n in NAME_SEPARATORS.split(scalar.value) if n.strip())
        return tuple(names)

    def integer(self, node: Node, key: str) -> int | None:
        scalar = self.scalar(node, key)
        if scalar is None:
            return None
        try:
            return int(scalar.value)
        except ValueError:
            self.error(scalar.line, f"{key} must be a whole number, not {scalar.value!r}")
            return None

    def boolean(self, node: Node, key: str) -> bool:
        scalar = self.scalar(node, key)
        if scalar is None:
            return False
        if tag_of(scalar).endswith(":bool"):
            return scalar.value.lower() in ("true", "yes", "on", "y")
        self.error(scalar.line, f"{key} must be true or false, not {scalar.value!r}")
        return False

    def date(self, node: Node) -> dt.date | None:
        scalar = self.scalar(node, "date")
        if scalar is None:
            return None
        value = scalar.value.strip()
        if not DATE_TEXT.match(value[:10]) or (len(value) > 10 and value[10] not in " T"):
            self.error(scalar.line, f"date must be YYYY-MM-DD (the edition date), not {value!r}")
            return None
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError as exc:
            self.error(scalar.line, f"impossible date {value[:10]!r}: {exc}")
            return None

    def page_code(self, node: Node, key: str) -> str:
        scalar = self.scalar(node, key)
        if scalar is None:
            return ""
        code = scalar.value.strip().upper().removesuffix("版")
        if not PAGE_CODE.match(code):
            self.error(scalar.line, f"{key} must be a page code, letters then digits (A01, A09, B12, 01), not {scalar.value!r}")
            return ""
        return code

    def check_slug(self, node: Node, slug: str) -> None:
        from .slugs import SLUG_MAX, is_valid_slug

        if not is_valid_slug(slug):
            self.error(
                node.line,
                f"slug {slug!r} must be lowercase ASCII letters and digits joined by '-', "
                f"at most {SLUG_MAX} characters (no '/', '..', spaces or Chinese)",
            )


# An issue.toml as parsed: (its mtime_ns, size and inode, what it gave, its problems).
ParsedIssue = tuple[tuple[int, int, int], "IssueMeta | None", tuple[Problem, ...]]


def _load_issues(root: Path, source: Path, problems: list[Problem], known: dict[str, ParsedIssue] | None = None) -> dict[dt.date, IssueMeta]:
    """Every content/<date>/issue.toml. known (shown path → ParsedIssue) is
    read and replaced: a file whose stat is unchanged is not read again. A
    paper with one per day has 3,650 after ten years, 0.4 s to parse on
    every build."""
    issues: dict[dt.date, IssueMeta] = {}
    before = known if known is not None else {}
    fresh: dict[str, ParsedIssue] = {}
    prefix = len(str(root))
    for path, stat in issue_files(root):
        shown = CONTENT_DIR + path[prefix:]
        if isinstance(stat, OSError):
            problems.append(Problem(shown, None, f"cannot read: {stat.strerror}"))
            continue
        key = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        parsed = before.get(shown)
        if parsed is None or parsed[0] != key:
            found: list[Problem] = []
            parsed = (key, _parse_issue(Path(path), shown, found), tuple(found))
        fresh[shown] = parsed
        problems.extend(parsed[2])
        meta = parsed[1]
        if meta is None:
            continue
        if meta.date in issues:
            problems.append(Problem(shown, None, f"a second issue.toml for {meta.date} (first: {issues[meta.date].file})"))
            continue
        issues[meta.date] = meta
    if known is not None:
        known.clear()
        known.update(fresh)
    return issues


def _parse_issue(path: Path, shown: str, problems: list[Problem]) -> IssueMeta | None:
    text, problem = decode(path.read_bytes(), shown)
    if text is None:
        problems.append(problem)  # type: ignore[arg-type]
        return None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+)", str(exc))
        problems.append(Problem(shown, int(match.group(1)) if match else None, f"TOML syntax error: {exc}"))
        return None
    line_of: Callable[[str], int | None] = lambda key: next(
        (n for n, line in enumerate(text.splitlines(), 1) if re.match(rf"^\s*\[?\s*{re.escape(key)}\b", line)), None
    )
    raw_date = data.get("date", path.parent.name)
    try:
        date = raw_date if isinstance(raw_date, dt.date) else dt.date.fromisoformat(str(raw_date))
    except ValueError:
        problems.append(Problem(shown, line_of("date"), "no valid date: set date = 2025-01-21 or name the folder so"))
        return None
    for key in data:
        if key not in ("date", "number", "note", "pages"):
            hint = did_you_mean(key, ("date", "number", "note", "pages"))
            problems.append(Problem(shown, line_of(key), f"unknown issue setting {key!r}{hint}", "warning"))
    pages: dict[str, PageMeta] = {}
    raw_pages = data.get("pages", {})
    if not isinstance(raw_pages, dict):
        problems.append(Problem(shown, line_of("pages"), "pages must be tables like [pages.A01] with name/editor"))
        raw_pages = {}
    for code, entry in raw_pages.items():
        if not PAGE_CODE.match(code.upper()) or not isinstance(entry, dict):
            problems.append(Problem(shown, line_of(f"pages.{code}"), f"[pages.{code}] must be a page code table"))
            continue
        fields = {k: str(v) for k, v in entry.items() if k in ("name", "editor", "image", "pdf")}
        for key in entry:
            if key not in ("name", "editor", "image", "pdf"):
                hint = did_you_mean(key, ("name", "editor", "image", "pdf"))
                problems.append(Problem(shown, line_of(key), f"unknown page setting {key!r}{hint}", "warning"))
        pages[code.upper()] = PageMeta(**fields)
    number = data.get("number", "")
    return IssueMeta(
        file=shown,
        date=date,
        number=str(number),
        note=str(data.get("note", "")),
        pages=frozen_map(pages),  # type: ignore[arg-type]
    )
