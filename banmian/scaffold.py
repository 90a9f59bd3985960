"""`new`: start an article file with its front matter filled in."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Sequence

import yaml

from .load import CONTENT_DIR
from .slugs import slugify


def front_matter(fields: dict[str, object]) -> str:
    kept = {k: v for k, v in fields.items() if v not in ("", None, [], ())}
    text = yaml.safe_dump(kept, allow_unicode=True, sort_keys=False, default_flow_style=False)
    return f"---\n{text}---\n"


def new_article(
    source: Path,
    *,
    date: dt.date,
    page: str,
    title: str,
    reporters: Sequence[str] = (),
    kicker: str = "",
    subtitle: str = "",
) -> Path:
    """Write content/<date>/<page>/<slug>.md; never overwrite (FileExistsError)."""
    folder = source / CONTENT_DIR / date.isoformat() / page
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{slugify(title)}.md"
    reporter: object = list(reporters) if len(reporters) > 1 else (reporters[0] if reporters else "")
    header = front_matter(
        {"title": title, "kicker": kicker, "subtitle": subtitle, "date": date.isoformat(), "page": page, "reporter": reporter}
    )
    lead = f"本报讯（记者 {'　'.join(reporters)}）" if reporters else ""
    with open(path, "x", encoding="utf-8") as handle:  # "x": fail if it exists
        handle.write(header + "\n" + lead + "\n")
    return path
