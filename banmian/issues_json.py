"""/issues.json: the machine-readable calendar of the whole archive.

Titles are in the source script; every document's URL is given per edition
so that an app can open any issue, page or article in the reader's script.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

from .model import Site


def issues_document(site: Site, moved: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    paper = site.paper
    document: dict[str, Any] = {
        "title": paper.title,
        "base_url": paper.base_url,
        "editions": [{"code": e.code, "path": e.path, "label": e.label} for e in paper.editions],
        "issues": [
            {
                "date": issue.key,
                "number": issue.number,
                "urls": dict(issue.urls),
                "pages": [
                    {
                        "code": page.code,
                        "name": page.name,
                        "urls": dict(page.urls),
                        "articles": [
                            {
                                "title": a.src.title,
                                "kicker": a.src.kicker,
                                "subtitle": a.src.subtitle,
                                "slug": a.slug,
                                "reporter": list(a.src.reporters),
                                "column": a.src.column,
                                "urls": dict(a.urls),
                            }
                            for a in page.articles
                        ],
                    }
                    for page in issue.pages
                ],
            }
            # Newest first: an app shows today's paper before the archive.
            for issue in reversed(site.issues)
        ],
    }
    if moved:
        document["moved"] = list(moved)
    return document


def issues_json(site: Site, moved: Sequence[Mapping[str, Any]] = ()) -> bytes:
    # Compact: json's C encoder does not indent, and at ten thousand articles
    # the pure-Python one costs a second on every build.
    return json.dumps(issues_document(site, moved), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
