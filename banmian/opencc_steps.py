"""OpenCC's s2tw (and s2hk) run as two plain steps: s2t, then t2tw.

s2tw cuts the text into phrases first (its "segmentation"), then converts
each phrase with STPhrases/STCharacters, then with the Taiwan variants. The
cutting costs about as much as the converting, and it changes nothing in the
first step: at each place the converter looks up the longest phrase of the
same dictionary the cutter used, so it finds the phrases the cutter found,
where it found them; between them, no phrase starts anywhere, and every
other entry of the step is one character. The second step can see a cut only
through an entry of more than one character (TWVariantsPhrases: 林國樑, 純喫茶
…), which then might match across it. So a text is converted by the first
step alone (s2t), then by the second (t2tw), about a third faster, unless
the first step's output holds one of those entries: such a line goes through
the whole config as before.

All of this is checked against the installed OpenCC before it is used: the
configs' files must compose exactly so, the dictionaries must hold what is
said above (read with the package's own `opencc_dict`), and a probe text must
come out the same both ways. Anything else, and every text goes through the
whole config. The plans so checked for the OpenCC banmian is tested with
ship in `opencc-plans.json`, taken only when the installed version, configs
and dictionaries are exactly those (a digest of them).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator

from .opencc_loaded import converter_for, opencc_for

# Lines and the batch separator (a private-use character) are in no
# dictionary entry: no step can match across them, so a text converts the
# same whole or cut there, and a line can go its own way.
PIECE = re.compile("([\n\ue000])")

# Ordinary text and entries of the second steps, run both ways before the
# plan is trusted. Lines apart: a line holding an entry goes the whole way,
# so it alone could not tell a wrong second step.
PROBE = "\n".join(
    (
        "他的头发很长，发展要着眼长远。了解情况后，干部们着手干涉。里面的面条，后面的皇后。",
        "为群众着想，祕密与秘密，峰与峯，台风过后的台湾，系统联系，只有一只，什么。",
        "林杰梁、张栋梁与黄东梁在纯吃茶店喫茶小铺里吃面，牛骥同一皂。",
    )
)


NEVER = r"(?!)"  # a pattern that matches nothing


@dataclass(frozen=True)
class TwoSteps:
    """A config as two configs of the package, and what makes a line go the whole way."""

    whole: str  # the config, e.g. s2tw
    first: str  # its first step alone, e.g. s2t
    second: str  # the rest, e.g. t2tw
    entries: tuple[str, ...]  # the rest's entries of more than one character
    entry: re.Pattern[str]  # any of them: one alternation is 4x faster than a search per entry (s2hk has 272)
    normalized: re.Pattern[str]  # characters the rest's normalization changes

    def convert(self, text: str) -> str:
        """text converted as the whole config would."""
        middle = converter_for(self.first).convert(text)
        result = converter_for(self.second).convert(middle)
        if not self._differs(middle):
            return result
        # Rare (a name such as 林国梁): those lines go the whole way.
        pieces, middles, results = PIECE.split(text), PIECE.split(middle), PIECE.split(result)
        if not len(pieces) == len(middles) == len(results):
            return converter_for(self.whole).convert(text)
        whole = converter_for(self.whole)
        for index in range(0, len(pieces), 2):
            if self._differs(middles[index]):
                results[index] = whole.convert(pieces[index])
        return "".join(results)

    def _differs(self, middle: str) -> bool:
        """Might the second step on its own read this first step's output otherwise than the whole config?"""
        # Two searches: one pattern for both is several times slower than the two.
        return self.entry.search(middle) is not None or self.normalized.search(middle) is not None


# The plans of the configs an edition usually has, derived and probed from
# the OpenCC banmian is tested with (`python -m banmian.opencc_steps` writes
# them). Used only under a digest of exactly that OpenCC's configs and
# dictionaries: a build then neither reads dictionaries with opencc_dict nor
# loads the whole config for the probe, and a short text goes in two steps
# too, so a one-article rebuild loads s2t and t2tw (0.11 s) instead of s2tw
# (0.18 s). With another OpenCC, plans are derived as before.
SHIPPED_PLANS = Path(__file__).with_name("opencc-plans.json")
SHIPPED_CONFIGS = ("s2tw", "s2twp", "s2hk", "s2t")
PLAN_SCHEMA = 1


@lru_cache(maxsize=None)
def two_steps(config: str) -> TwoSteps | None:
    """The plan for config (a name such as "s2tw"), or None: convert with the whole config."""
    shipped = _shipped_plans()
    if config in shipped:
        return _restored(config, shipped[config])
    return _derived(config)


def shipped_plan(config: str) -> bool:
    """Is config's plan (or that it has none) known without deriving it?"""
    return config in _shipped_plans()


def _derived(config: str) -> TwoSteps | None:
    """The plan for config, from the installed OpenCC's files, and only if the probe agrees."""
    try:
        share, tool = package_files()
        configs = {path.stem: json.loads(path.read_text("utf-8")) for path in share.glob("*.json")}
        steps = _compose(config, configs)
        if steps is None:
            return None
        first, second = steps
        plan = _plan(config, first, second, configs, share, tool)
    except (ImportError, OSError, ValueError, KeyError, TypeError, AttributeError, subprocess.SubprocessError):
        return None
    if plan is None:
        return None
    return plan if plan.convert(PROBE) == opencc_for(config).convert(PROBE) else None


def _record(plan: TwoSteps | None) -> dict[str, Any] | None:
    if plan is None:
        return None
    return {"first": plan.first, "second": plan.second, "entries": list(plan.entries), "entry": plan.entry.pattern, "normalized": plan.normalized.pattern}


def _restored(config: str, record: dict[str, Any] | None) -> TwoSteps | None:
    if record is None:
        return None
    return TwoSteps(config, record["first"], record["second"], tuple(record["entries"]), re.compile(record["entry"]), re.compile(record["normalized"]))


@lru_cache(maxsize=1)
def package_key() -> str:
    """A digest of everything a plan derives from: the installed OpenCC's
    version, configs and dictionaries, by name and content (an install's
    paths and times differ). ~10 ms to read, once per process; the search
    index's shipped tables are keyed by it too."""
    import opencc

    share, _ = package_files()
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{PLAN_SCHEMA} {getattr(opencc, '__version__', '')}".encode())
    for path in sorted(p for p in share.iterdir() if p.is_file()):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def read_shipped(path: Path, key: Callable[[], str]) -> dict[str, Any]:
    """A file shipped with banmian when it was derived from what is installed
    now (its "key" is key()); else {}: the build derives its content itself."""
    try:
        shipped = json.loads(path.read_text(encoding="utf-8"))
        return shipped if isinstance(shipped, dict) and shipped.get("key") == key() else {}
    except (OSError, ValueError, ImportError):
        return {}


@lru_cache(maxsize=1)
def _shipped_plans() -> dict[str, dict[str, Any] | None]:
    """The shipped plans when they derive from the installed OpenCC; else {}."""
    plans = read_shipped(SHIPPED_PLANS, package_key).get("plans")
    return dict(plans) if isinstance(plans, dict) else {}


def ship_plans(path: Path = SHIPPED_PLANS) -> None:
    """Derive (and probe) the plans of SHIPPED_CONFIGS from the installed OpenCC and write them to ship."""
    plans = {config: _record(_derived(config)) for config in SHIPPED_CONFIGS}
    path.write_text(json.dumps({"key": package_key(), "plans": plans}, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def dictionaries(config: str) -> tuple[str, ...]:
    """The configs config's texts go through, to load before they come: with a
    shipped plan its two steps (the whole config only for the rare lines its
    second step cannot take, 林国梁, loaded when one comes), else the whole
    config and, when a plan is derived, its steps."""
    steps = two_steps(config)
    if steps is None:
        return (config,)
    return (steps.first, steps.second) if shipped_plan(config) else (steps.whole, steps.first, steps.second)


def package_files() -> tuple[Path, Path]:
    """The official package's config folder and its dictionary tool."""
    import opencc

    package = Path(opencc.__file__).parent / "clib"
    return package / "share" / "opencc", package / "bin" / "opencc_dict"


def _compose(name: str, configs: dict[str, Any]) -> tuple[str, str] | None:
    """(first, second): configs of the package that are name's first step and the rest, exactly."""
    whole = configs.get(name)
    if not isinstance(whole, dict):
        return None
    segmentation = whole.get("segmentation")
    chain = whole.get("conversion_chain")
    if not (isinstance(segmentation, dict) and segmentation.get("type") == "mmseg" and isinstance(chain, list) and len(chain) >= 2):
        return None
    group = chain[0].get("dict", {})
    # The first step must look up the cutter's dictionary first, and take the first match.
    if not (group.get("type") == "group" and group.get("match_policy", "short_circuit") == "short_circuit"):
        return None
    if not (group.get("dicts") and group["dicts"][0] == segmentation.get("dict")):
        return None
    normalization = whole.get("normalization")

    def find(steps: list[Any]) -> str | None:
        for other, body in sorted(configs.items()):
            if (
                other != name
                and isinstance(body, dict)
                and "segmentation" not in body
                and body.get("normalization") == normalization
                and body.get("conversion_chain") == steps
            ):
                return other
        return None

    first, second = find(chain[:1]), find(chain[1:])
    return (first, second) if first and second else None


def _plan(name: str, first: str, second: str, configs: dict[str, Any], share: Path, tool: Path) -> TwoSteps | None:
    whole = configs[name]
    chain = whole["conversion_chain"]
    entries: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="banmian-opencc-") as scratch:
        keys = _dictionary_keys(share, tool, scratch)
        # Every entry of the first step after the cutter's dictionary is one character.
        for leaf in _leaves(chain[0]["dict"]["dicts"][1:]):
            if any(len(key) != 1 for key in keys(leaf)):
                return None
        for step in chain[1:]:
            for leaf in _leaves([step["dict"]]):
                entries.update(key for key in keys(leaf) if len(key) > 1)
        normalizing: set[str] = set()
        for step in whole.get("normalization") or []:
            for leaf in _leaves([step["dict"]]):
                normalizing.update(keys(leaf))
    if any(len(key) != 1 for key in normalizing):
        return None
    pattern = char_class(sorted(map(ord, normalizing))) if normalizing else NEVER
    # Longest first, then by text: the same pattern in every process (the shipped plans hold it).
    alternation = "|".join(map(re.escape, sorted(entries, key=lambda entry: (-len(entry), entry)))) if entries else NEVER
    return TwoSteps(name, first, second, tuple(sorted(entries)), re.compile(alternation), re.compile(pattern))


def _dictionary_keys(share: Path, tool: Path, scratch: str) -> Callable[[dict[str, Any]], list[str]]:
    """leaf dict → its keys: a text dictionary read, an ocd2 one written out as text by opencc_dict."""

    def keys(leaf: dict[str, Any]) -> list[str]:
        path = share / leaf["file"]
        if leaf.get("type") == "text":
            text = path.read_text("utf-8")
        elif leaf.get("type") == "ocd2":
            out = os.path.join(scratch, f"{path.stem}.txt")
            subprocess.run([os.fspath(tool), "-i", os.fspath(path), "-o", out, "-f", "ocd2", "-t", "text"],
                           check=True, capture_output=True, timeout=60)
            text = Path(out).read_text("utf-8")
        else:
            raise ValueError(f"dictionary type {leaf.get('type')!r}")
        return [line.split("\t", 1)[0] for line in text.splitlines() if line]

    return keys


def _leaves(dicts: list[Any]) -> Iterator[dict[str, Any]]:
    for item in dicts:
        if item.get("type") == "group":
            yield from _leaves(item.get("dicts", []))
        else:
            yield item


def char_class(codes: list[int]) -> str:
    """A character class of these code points (ascending) as ranges: a class
    listing a thousand characters one by one searches a long text a hundred
    times slower; ranges compile to a bitmap lookup."""
    ranges: list[list[int]] = []
    for code in codes:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return "[" + "".join(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges) + "]"


if __name__ == "__main__":  # python -m banmian.opencc_steps: write the shipped plans again
    ship_plans()
