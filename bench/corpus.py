"""Deterministic corpus of Chinese newspaper articles for benchmarks.

One corpus is written three times with the same text: as a banmian site (both
editions), as a Pelican site and as a Hugo site (one edition each), so that
the three generators build exactly the same words.

Article ``i`` depends only on ``(seed, i)``: a corpus of 5,000 articles is the
first 5,000 articles of the corpus of 20,000, and any single article can be
rewritten on its own (that is how a touched article is restored).

The paper has 8 pages × 5 articles a day; day 0 is 2025-01-21 and the dates
go backwards one day at a time, as an archive grows into the past.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

GENERATOR_VERSION = 2
FIRST_DATE = dt.date(2025, 1, 21)
PAGES_PER_DAY = 8
ARTICLES_PER_PAGE = 5
ARTICLES_PER_DAY = PAGES_PER_DAY * ARTICLES_PER_PAGE
PAGE_NAMES = {
    "A01": "要闻",
    "A02": "综合",
    "A03": "经济",
    "A04": "政务",
    "A05": "社会",
    "A06": "文化",
    "A07": "体育",
    "A08": "评论",
}
PAGE_CODES = tuple(PAGE_NAMES)

TITLE_MIN, TITLE_MAX = 12, 28
BODY_MIN, BODY_MAX = 600, 1500
PARAGRAPHS_MIN, PARAGRAPHS_MAX = 4, 8

# ---------------------------------------------------------------------------
# Vocabulary: phrases as a provincial daily prints them.

PLACES = (
    "西宁", "海东", "果洛", "玉树", "海西", "海南州", "海北", "黄南", "格尔木",
    "德令哈", "共和县", "湟中区", "大通县", "互助县", "同仁市", "玛沁县",
    "囊谦县", "门源县", "乐都区", "平安区", "祁连县", "贵德县", "重庆", "成都",
    "兰州", "拉萨", "北京", "上海", "深圳", "乌鲁木齐",
)
ORGS = (
    "省委", "省政府", "省人大常委会", "省政协", "省发展改革委", "省教育厅",
    "省科技厅", "省工业和信息化厅", "省财政厅", "省生态环境厅", "省住房城乡建设厅",
    "省交通运输厅", "省农业农村厅", "省文化和旅游厅", "省卫生健康委", "省应急管理厅",
    "省市场监管局", "省体育局", "省统计局", "省气象局", "国网青海省电力公司",
    "青海大学", "青海师范大学", "西宁海关", "人民银行青海省分行", "省林草局",
    "三江源国家公园管理局", "省总工会", "团省委", "省妇联",
)
OFFICIAL_ROLES = (
    "省委书记", "省长", "副省长", "省委常委", "秘书长", "厅长", "局长", "书记",
    "主任", "院长", "校长", "董事长", "总经理", "银行行长", "县长", "州长",
)
PEOPLE = (
    "吴晓军", "罗东川", "公保扎西", "朱向峰", "王绚", "田奎", "邓小川", "乌仁塔娜",
    "张周平", "颜亮东", "陈琼", "王昆", "魏立新", "王彤", "措洛吉", "李文华",
    "马建国", "才让多杰", "韩学军", "赵永红", "杨海燕", "索南东智", "刘志强",
    "冶成福", "祁晓玲", "何长江", "尕藏卓玛", "孙立平",
)
REPORTERS = (
    "莫昌伟", "王玉娟", "张多钧", "罗珺", "刘法营", "倪晓颖", "晏国政", "宋明慧",
    "芈峤", "尚杰", "郭佳", "王菁", "张鹏", "孙海玲", "栾雪飞", "李娜", "陈晨",
    "彭逸凡", "吴梦婷", "马振东", "拉毛措", "才让卓玛", "周建萍", "何敏",
    "赵俊杰", "黄涛", "范旭光", "樊永涛", "董洁", "胡淑芳",
)
ROLES = ("记者", "特约记者", "通讯员", "见习记者")
TOPICS = (
    "盐湖产业体系", "清洁能源产业高地", "国家公园示范省", "生态文明高地",
    "高原特色现代农牧业", "三江源水源涵养", "乡村振兴", "冬虫夏草产业",
    "高原医学与康养", "柴达木天文资源", "营商环境", "数字经济", "5G基站建设",
    "算力中心", "GPU算力集群", "储能电站", "光伏发电", "特高压输电通道",
    "基层医疗服务", "义务教育优质均衡", "职业教育", "养老服务体系",
    "文旅融合", "非物质文化遗产保护", "河湖长制", "草原生态保护修复",
    "黄河流域生态保护", "东西部协作", "对口援青", "民族团结进步", "应急管理",
    "安全生产", "冬季供暖保障", "春运服务保障", "农民工工资支付", "就业创业",
    "消费品以旧换新", "新能源汽车下乡", "AI大模型应用", "碳达峰碳中和",
    "COP29气候大会成果", "跨境电商", "中欧班列", "冰雪运动", "全民健身",
)
# Verbs that take a topic as their object (推进乡村振兴), and verbs for an
# inspection (此次督导共涉及…): mixing them would print 召开光伏发电.
VERBS = ("推进", "落实", "加快", "深化", "巩固", "提升", "完善", "优化", "强化", "抓好")
CHECK_VERBS = ("督导", "检查", "调研", "暗访", "评估", "巡查")
SUB_HEADINGS = (
    "坚持问题导向 精准施策", "聚焦重点领域 攻坚克难", "群众满意是最高标准",
    "从“盆景”到“风景”", "让数据多跑路", "绿色发展底色更亮", "一张蓝图绘到底",
    "把实事办到群众心坎上", "科技赋能 提质增效", "守护一江清水向东流",
)
COLUMNS = (
    "一线见闻", "高质量发展看青海", "民生速递", "政策解读", "基层故事", "两会特刊",
    "新春走基层", "法治在线", "文化周刊", "体坛快讯", "青海观察", "短评",
)
KICKERS = (
    "贯彻落实省委经济工作会议精神", "奋力推进中国式现代化青海实践",
    "聚焦两会", "新春走基层", "高质量发展调研行", "生态保护优先",
    "深化改革开放", "民生实事进行时", "喜迎新春佳节",
)
MONEY_UNITS = ("万元", "亿元")
HETERONYM_SENTENCES = (
    "银行行长表示，将加大对小微企业的信贷支持力度。",
    "孩子们在这片草原上长大，如今又回到家乡创业。",
    "重庆与西宁两地将在产业链供应链上加强协作。",
    "行业协会会长说，这一行当正在经历深刻变化。",
    "重新修订的办法对重点行业作出了明确规定。",
    "长江、黄河、澜沧江发源于此，被誉为“中华水塔”。",
)
# Slots: see _Filler.slots.
SENTENCE_TEMPLATES = (
    "{year}年以来，{place}坚持把{topic}作为重点工作，累计投入资金{money}。",
    "{org}有关负责人介绍，下一步将进一步{verb}{topic}，确保各项措施落地见效。",
    "{role}{person}在{place}调研时强调，要{verb}{topic}，切实增强群众的获得感、幸福感、安全感。",
    "据统计，{month}月份全省{topic}完成投资{money}，同比增长{pct}%。",
    "会议指出，要深入学习贯彻习近平总书记考察青海重要讲话精神，扎实{verb}{topic}。",
    "在{place}，{topic}项目建设现场一派繁忙景象，工人们正抓紧时间施工。",
    "截至目前，{place}已建成{topic}示范点{small}个，带动{count}人就业。",
    "“我们将以更大力度{verb}{topic}，”{person}说，“让老百姓得到更多实惠。”",
    "{org}联合{org2}印发通知，对{topic}工作作出具体安排。",
    "记者从{org}获悉，{place}{topic}工作取得阶段性成效。",
    "近年来，{place}依托资源禀赋，大力发展{topic}，走出了一条特色发展之路。",
    "活动现场，{org}工作人员向群众发放宣传资料{count}份，解答咨询{small}人次。",
    "专家认为，{topic}是推动高质量发展的重要抓手，必须久久为功。",
    "{place}将统筹推进{topic}和{topic2}，努力实现经济效益和社会效益相统一。",
    "这是{place}{verb}{topic}的一个缩影。",
    "此次{check}共涉及{small}个市州、{count}家单位。",
)
LEADS = (
    "本报讯（{rrole} {reporter}）{month}月{day}日，{org}召开会议，研究部署{topic}工作。",
    "本报讯（{rrole} {reporter}）{month}月{day}日上午，{role}{person}在{place}就{topic}进行调研。",
    "本报{place}讯（{rrole} {reporter}）记者从{org}获悉，{place}{topic}取得新进展。",
    "本报讯（{rrole} {reporter}）日前，{org}出台措施，全力{verb}{topic}。",
)
TITLE_TEMPLATES = (
    "{place}{verb}{topic}取得新成效",
    "{org}召开{topic}工作推进会",
    "{person}在{place}调研{topic}工作",
    "以{topic}为抓手 奋力推进高质量发展",
    "{place}：{topic}跑出“加速度”",
    "{topic}让{place}群众得实惠",
    "全省{topic}完成投资{money}",
    "{org}部署{topic}和{topic2}工作",
    "{place}多措并举{verb}{topic}",
    "聚焦{topic} {place}答好发展新答卷",
)
SUBTITLES = (
    "全年完成投资{money} 同比增长{pct}%",
    "{place}{topic}工作综述",
    "——来自{place}的调查报告",
    "{small}个项目集中开工 总投资{money}",
)
# The sentence the --touch helper appends: chosen so that its s2tw conversion
# differs from it (据→據, 这→這, 将→將, 东→東 …), which proves that the
# traditional edition was re-converted, not copied.
TOUCH_SENTENCE = "据了解，这项试点工作将于下周在海东市全面推开（更新{n}号）。"
TOUCH_PATTERN = re.compile(r"据了解，这项试点工作将于下周在海东市全面推开（更新(\d+)号）。")


@dataclass(frozen=True)
class Article:
    """One generated article, before it is written in any site format."""

    index: int
    date: dt.date
    page: str
    order: int
    title: str
    kicker: str | None
    subtitle: str | None
    reporters: tuple[str, ...]
    role: str
    column: str | None
    body: str  # Markdown: paragraphs, occasional **bold** and one ## heading

    @property
    def page_name(self) -> str:
        return PAGE_NAMES[self.page]

    @property
    def ascii_slug(self) -> str:
        # Pelican and Hugo get this explicit slug; banmian computes its own
        # pinyin slug from the title, as its users would have it.
        return f"{self.date:%Y%m%d}-{self.page.lower()}-{self.order}"


def position(index: int) -> tuple[dt.date, str, int]:
    """Date, page code and order on the page of article ``index``."""
    day, rest = divmod(index, ARTICLES_PER_DAY)
    page_index, slot = divmod(rest, ARTICLES_PER_PAGE)
    return FIRST_DATE - dt.timedelta(days=day), PAGE_CODES[page_index], slot + 1


class _Filler:
    """Fills template slots from one article's random stream."""

    def __init__(self, rng: random.Random, date: dt.date) -> None:
        self.rng = rng
        self.date = date

    def slots(self) -> dict[str, str]:
        r = self.rng
        topic, topic2 = r.sample(TOPICS, 2)
        org, org2 = r.sample(ORGS, 2)
        return {
            "place": r.choice(PLACES),
            "org": org,
            "org2": org2,
            "person": r.choice(PEOPLE),
            "role": r.choice(OFFICIAL_ROLES),
            "topic": topic,
            "topic2": topic2,
            "verb": r.choice(VERBS),
            "check": r.choice(CHECK_VERBS),
            "money": self.money(),
            "count": str(r.randint(12, 9800)),
            "small": str(r.randint(3, 46)),
            "pct": str(round(r.uniform(0.8, 28.5), 1)),
            "year": str(self.date.year - r.randint(0, 3)),
            "month": str(r.randint(1, 12)),
            "day": str(self.date.day),
        }

    def money(self) -> str:
        if self.rng.random() < 0.5:
            return f"{self.rng.randint(120, 9800)}万元"
        return f"{round(self.rng.uniform(1.2, 260.0), 1)}亿元"

    def fill(self, template: str, **extra: str) -> str:
        return template.format(**{**self.slots(), **extra})


def _title(filler: _Filler) -> str:
    # Templates can produce titles outside 12–28 characters; draw again rather
    # than cut, so every title reads as a whole headline.
    for _ in range(50):
        title = filler.fill(filler.rng.choice(TITLE_TEMPLATES))
        if TITLE_MIN <= len(title) <= TITLE_MAX:
            return title
    return filler.fill("{place}{verb}{topic}取得新成效")[:TITLE_MAX]


def _sentence(filler: _Filler) -> str:
    r = filler.rng
    if r.random() < 0.06:
        return r.choice(HETERONYM_SENTENCES)
    sentence = filler.fill(r.choice(SENTENCE_TEMPLATES))
    if r.random() < 0.05:
        # Bold a phrase the way editors stress a figure or a slogan.
        slots = filler.slots()
        if slots["topic"] in sentence:
            sentence = sentence.replace(slots["topic"], f"**{slots['topic']}**", 1)
        elif sentence.endswith("。") and not sentence.endswith("”。"):
            sentence = f"**{sentence[:-1]}**。"
    return sentence


def _plain_length(markdown: str) -> int:
    """Characters a reader sees: no markup, no line breaks."""
    text = re.sub(r"^## ", "", markdown, flags=re.M).replace("**", "")
    return len(text.replace("\n", ""))


def _body(filler: _Filler, reporter: str, role: str) -> str:
    r = filler.rng
    target = r.randint(BODY_MIN + 60, BODY_MAX - 120)
    count = r.randint(PARAGRAPHS_MIN, PARAGRAPHS_MAX)
    per_paragraph = target // count
    paragraphs: list[str] = []
    lead = filler.fill(r.choice(LEADS), reporter=reporter, rrole=role)
    for number in range(count):
        sentences = [lead] if number == 0 else []
        while sum(map(len, sentences)) < per_paragraph:
            sentences.append(_sentence(filler))
        paragraphs.append("".join(sentences))
    if count >= 5 and r.random() < 0.35:
        paragraphs.insert(r.randint(2, count - 2), "## " + r.choice(SUB_HEADINGS))
    body = "\n\n".join(paragraphs)
    # Long sentences can overshoot; drop sentences from the last paragraph
    # until the body fits (the first paragraph always stays).
    while _plain_length(body) > BODY_MAX and len(paragraphs) > 1:
        last = paragraphs[-1]
        cut = last.rstrip("。").rfind("。")
        paragraphs[-1:] = [last[: cut + 1]] if cut > 0 else []
        body = "\n\n".join(paragraphs)
    return body


def make_article(seed: int, index: int) -> Article:
    """Article ``index`` of the corpus of ``seed``; independent of the others."""
    date, page, order = position(index)
    # A string seed is hashed with SHA-512 by random.seed: stable across runs
    # and Python versions, unlike hash().
    rng = random.Random(f"banmian-bench:{seed}:{index}")
    filler = _Filler(rng, date)
    reporters = tuple(rng.sample(REPORTERS, 2 if rng.random() < 0.2 else 1))
    role = rng.choice(ROLES)
    title = _title(filler)
    kicker = filler.fill(rng.choice(KICKERS)) if rng.random() < 0.3 else None
    subtitle = filler.fill(rng.choice(SUBTITLES)) if rng.random() < 0.25 else None
    column = rng.choice(COLUMNS) if rng.random() < 0.3 else None
    body = _body(filler, reporters[0], role)
    return Article(index, date, page, order, title, kicker, subtitle, reporters, role, column, body)


# ---------------------------------------------------------------------------
# Writers: one per site format.


def _yaml_scalar(value: str) -> str:
    # Plain scalars read best; quote (JSON is valid YAML) whenever a plain
    # scalar could be misread: a colon-space, a leading indicator, a number.
    risky = (": " in value or " #" in value or value[:1] in "-?:,[]{}#&*!|>'\"%@`"
             or re.fullmatch(r"[\d.\-+]+", value) is not None)
    return json.dumps(value, ensure_ascii=False) if risky else value


def banmian_text(article: Article) -> str:
    lines = ["---", f"title: {_yaml_scalar(article.title)}"]
    if article.kicker:
        lines.append(f"kicker: {_yaml_scalar(article.kicker)}")
    if article.subtitle:
        lines.append(f"subtitle: {_yaml_scalar(article.subtitle)}")
    lines += [
        f"date: {article.date.isoformat()}",
        f"page: {article.page}",
        f"page_name: {article.page_name}",
    ]
    if len(article.reporters) == 1:
        lines.append(f"reporter: {article.reporters[0]}")
    else:
        lines.append("reporter: [" + ", ".join(article.reporters) + "]")
    lines.append(f"role: {article.role}")
    if article.column:
        lines.append(f"column: {article.column}")
    lines += [f"order: {article.order}", "---", article.body, ""]
    return "\n".join(lines)


def pelican_text(article: Article) -> str:
    # Pelican's Markdown reader takes "Key: value" lines before a blank line.
    lines = [
        f"Title: {article.title}",
        f"Date: {article.date.isoformat()} 06:{59 - article.index % ARTICLES_PER_DAY:02d}",
        f"Category: {article.page_name}",
        f"Author: {', '.join(article.reporters)}",
        f"Slug: {article.ascii_slug}",
    ]
    if article.subtitle:
        lines.append(f"Summary: {article.subtitle}")
    lines += ["", _display_head(article) + article.body, ""]
    return "\n".join(lines)


def hugo_text(article: Article) -> str:
    minute = 59 - article.index % ARTICLES_PER_DAY
    lines = [
        "---",
        f"title: {json.dumps(article.title, ensure_ascii=False)}",
        f"date: {article.date.isoformat()}T06:{minute:02d}:00+08:00",
        f"slug: {article.ascii_slug}",
        f"categories: [{article.page_name}]",
        f"author: {json.dumps(', '.join(article.reporters), ensure_ascii=False)}",
        f"weight: {article.order}",
        "---",
        _display_head(article) + article.body,
        "",
    ]
    return "\n".join(lines)


def _display_head(article: Article) -> str:
    # Pelican and Hugo have no 引题/副题/栏目 fields of their own; put them in
    # the text so that every tool renders the same words.
    parts = []
    if article.kicker:
        parts.append(f"*{article.kicker}*")
    if article.subtitle:
        parts.append(f"——{article.subtitle}")
    if article.column:
        parts.append(f"【{article.column}】")
    return "".join(p + "\n\n" for p in parts)


def article_paths(root: Path, article: Article) -> dict[str, Path]:
    """Where article is written in each of the three sites under root."""
    day = article.date.isoformat()
    name = f"{article.order:03d}.md"
    return {
        "banmian": root / "banmian" / "content" / day / article.page / name,
        "pelican": root / "pelican" / "content" / day / f"{article.page}-{name}",
        "hugo": root / "hugo" / "content" / day / f"{article.page.lower()}-{name}",
    }


def write_article(root: Path, article: Article) -> None:
    texts = {"banmian": banmian_text(article), "pelican": pelican_text(article),
             "hugo": hugo_text(article)}
    for tool, path in article_paths(root, article).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(texts[tool], encoding="utf-8")


# ---------------------------------------------------------------------------
# Site configuration for each tool.

NEWSPAPER_TOML = """\
title = "高原日报"
base_url = "https://epaper.example.org/"
timezone = "Asia/Shanghai"
default_edition = "zh-Hans"

[[editions]]
code = "zh-Hans"
path = "zh-hans"
label = "简体"

[[editions]]
code = "zh-Hant"
path = "zh-hant"
label = "繁體"
opencc = "s2tw"

[page_names]
""" + "".join(f'{code} = "{name}"\n' for code, name in PAGE_NAMES.items())

PELICANCONF = """\
# Generated by bench/corpus.py: a minimal one-edition Pelican site.
AUTHOR = "高原日报"
SITENAME = "高原日报"
SITEURL = ""
PATH = "content"
THEME = "theme"
TIMEZONE = "Asia/Shanghai"
DEFAULT_LANG = "zh"
DEFAULT_DATE_FORMAT = "%Y-%m-%d"
DEFAULT_PAGINATION = False
RELATIVE_URLS = True
# Articles, issue (day) pages and 版名 (category) pages, as banmian has them;
# no tag, author or page listings, which banmian does not have either.
ARTICLE_URL = "{date:%Y-%m-%d}/{slug}/"
ARTICLE_SAVE_AS = "{date:%Y-%m-%d}/{slug}/index.html"
DAY_ARCHIVE_SAVE_AS = "{date:%Y-%m-%d}/index.html"
MONTH_ARCHIVE_SAVE_AS = ""
YEAR_ARCHIVE_SAVE_AS = ""
CATEGORY_URL = "section/{slug}/"
CATEGORY_SAVE_AS = "section/{slug}/index.html"
AUTHOR_SAVE_AS = ""
AUTHORS_SAVE_AS = ""
TAG_SAVE_AS = ""
TAGS_SAVE_AS = ""
PAGE_SAVE_AS = ""
DIRECT_TEMPLATES = ["index", "archives", "categories"]
# Feeds on, as banmian and Hugo have them: one site feed and one per 版名,
# the latest 100 entries each.
FEED_ALL_ATOM = "feed.xml"
CATEGORY_FEED_ATOM = "section/{slug}/feed.xml"
FEED_ALL_RSS = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None
TRANSLATION_FEED_ATOM = None
FEED_MAX_ITEMS = 100
CACHE_CONTENT = False
LOAD_CONTENT_CACHE = False
"""

# Used for Pelican's incremental rebuild: the same site with its content cache.
PELICANCONF_CACHED = """\
# Generated by bench/corpus.py: pelicanconf.py with Pelican's content cache on.
import os, sys
sys.path.insert(0, os.path.dirname(__file__))
from pelicanconf import *  # noqa: F401,F403

CACHE_CONTENT = True
LOAD_CONTENT_CACHE = True
CONTENT_CACHING_LAYER = "reader"
CHECK_MODIFIED_METHOD = "mtime"
"""

# A minimal Jinja theme for Pelican: every template Pelican may ask for, each
# printing only what a reader needs (no CSS, no JS), so the time measured is
# Pelican's own, not a theme's.
_PELICAN_BASE = """\
<!DOCTYPE html>
<html lang="zh-Hans"><head><meta charset="utf-8">
<title>{% block title %}{{ SITENAME }}{% endblock %}</title></head>
<body><header><a href="/">{{ SITENAME }}</a></header>
<main>{% block content %}{% endblock %}</main></body></html>
"""
_PELICAN_LIST = """\
{% extends "base.html" %}
{% block content %}<ul>
{% for article in articles %}<li><a href="/{{ article.url }}">{{ article.title }}</a>
 {{ article.locale_date }}</li>
{% endfor %}</ul>{% endblock %}
"""
PELICAN_THEME = {
    "base.html": _PELICAN_BASE,
    "index.html": _PELICAN_LIST,
    "category.html": _PELICAN_LIST,
    "tag.html": _PELICAN_LIST,
    "author.html": _PELICAN_LIST,
    "period_archives.html": _PELICAN_LIST.replace("articles", "dates"),
    "archives.html": _PELICAN_LIST.replace("articles", "dates"),
    "article.html": """\
{% extends "base.html" %}
{% block title %}{{ article.title }} - {{ SITENAME }}{% endblock %}
{% block content %}<article><h1>{{ article.title }}</h1>
<p>{{ article.locale_date }} · {{ article.category }} ·
{% for author in article.authors %}{{ author }} {% endfor %}</p>
{{ article.content }}</article>{% endblock %}
""",
    "page.html": """\
{% extends "base.html" %}
{% block content %}<h1>{{ page.title }}</h1>{{ page.content }}{% endblock %}
""",
    "categories.html": """\
{% extends "base.html" %}
{% block content %}<ul>{% for category, articles in categories %}
<li><a href="/{{ category.url }}">{{ category }}</a> ({{ articles|count }})</li>
{% endfor %}</ul>{% endblock %}
""",
    "tags.html": '{% extends "base.html" %}',
    "authors.html": '{% extends "base.html" %}',
}

HUGO_CONFIG = """\
# Generated by bench/corpus.py: a minimal one-edition Hugo site.
baseURL = "https://epaper.example.org/"
title = "高原日报"
languageCode = "zh-Hans"
defaultContentLanguage = "zh"
hasCJKLanguage = true
# Sections (one per day, like an issue) and 版名 categories, as banmian has
# them; no tags. RSS on for home, sections and categories, latest 100 items.
disableKinds = ["robotsTXT"]
[taxonomies]
category = "categories"
[permalinks]
[permalinks.page]
"/" = "/:section/:slug/"
[services.rss]
limit = 100
"""
HUGO_LAYOUTS = {
    "baseof.html": """\
<!DOCTYPE html>
<html lang="zh-Hans"><head><meta charset="utf-8">
<title>{{ .Title }} - {{ site.Title }}</title></head>
<body><header><a href="/">{{ site.Title }}</a></header>
<main>{{ block "main" . }}{{ end }}</main></body></html>
""",
    "single.html": """\
{{ define "main" }}<article><h1>{{ .Title }}</h1>
<p>{{ .Date.Format "2006-01-02" }} · {{ delimit .Params.categories " " }} · {{ .Params.author }}</p>
{{ .Content }}</article>{{ end }}
""",
    "list.html": """\
{{ define "main" }}<ul>
{{ range .RegularPages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a> {{ .Date.Format "2006-01-02" }}</li>
{{ end }}</ul>{{ end }}
""",
}


@dataclass(frozen=True)
class Corpus:
    """A generated corpus on disk: three sites built from the same articles."""

    root: Path
    articles: int
    seed: int

    @property
    def banmian(self) -> Path:
        return self.root / "banmian"

    @property
    def pelican(self) -> Path:
        return self.root / "pelican"

    @property
    def hugo(self) -> Path:
        return self.root / "hugo"

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"


def _write_files(base: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _write_site_config(corpus: Corpus) -> None:
    _write_files(corpus.banmian, {"newspaper.toml": NEWSPAPER_TOML})
    _write_files(corpus.pelican, {"pelicanconf.py": PELICANCONF,
                                  "pelicanconf_cached.py": PELICANCONF_CACHED})
    _write_files(corpus.pelican / "theme" / "templates", PELICAN_THEME)
    _write_files(corpus.hugo, {"hugo.toml": HUGO_CONFIG})
    _write_files(corpus.hugo / "layouts", HUGO_LAYOUTS)


def _manifest_data(articles: int, seed: int) -> dict[str, int]:
    return {"generator": GENERATOR_VERSION, "articles": articles, "seed": seed}


def read_manifest(corpus: Corpus) -> dict | None:
    try:
        return json.loads(corpus.manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_manifest(corpus: Corpus, touched: list[int]) -> None:
    data = {**_manifest_data(corpus.articles, corpus.seed), "touched": touched}
    corpus.manifest.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def generate(root: Path, articles: int, seed: int = 1) -> Corpus:
    """Write a fresh corpus of ``articles`` articles under ``root``."""
    import shutil

    if root.exists():
        shutil.rmtree(root)
    corpus = Corpus(root, articles, seed)
    _write_site_config(corpus)
    for index in range(articles):
        write_article(root, make_article(seed, index))
    write_manifest(corpus, touched=[])
    return corpus


def ensure(root: Path, articles: int, seed: int = 1) -> Corpus:
    """The corpus under ``root``: reused when it matches, else generated.

    Articles changed by :func:`touch` are restored first, so every run
    starts from the same text.
    """
    corpus = Corpus(root, articles, seed)
    manifest = read_manifest(corpus)
    if manifest is None or any(manifest.get(k) != v
                               for k, v in _manifest_data(articles, seed).items()):
        return generate(root, articles, seed)
    if manifest.get("touched"):
        restore(corpus)
    return corpus


def touch(corpus: Corpus, index: int | None = None) -> tuple[int, str]:
    """Append one new sentence to one article's body in all three sites.

    Returns the article's index and the sentence. Each touch appends a
    sentence with a new number, so repeated touches are distinct changes.
    """
    if index is None:
        index = corpus.articles // 2  # an article from the middle of the archive
    article = make_article(corpus.seed, index)
    manifest = read_manifest(corpus) or {}
    touched = list(manifest.get("touched", []))
    paths = article_paths(corpus.root, article)
    current = paths["banmian"].read_text(encoding="utf-8")
    number = 1 + max((int(n) for n in TOUCH_PATTERN.findall(current)), default=0)
    sentence = TOUCH_SENTENCE.format(n=number)
    # Mark the corpus as touched before changing it: if we die in between,
    # the next ensure() still restores the article.
    write_manifest(corpus, touched=sorted(set(touched) | {index}))
    for path in paths.values():
        text = path.read_text(encoding="utf-8").rstrip("\n")
        path.write_text(f"{text}\n\n{sentence}\n", encoding="utf-8")
    return index, sentence


def restore(corpus: Corpus) -> None:
    """Rewrite every touched article with its generated text."""
    manifest = read_manifest(corpus) or {}
    for index in manifest.get("touched", []):
        write_article(corpus.root, make_article(corpus.seed, index))
    write_manifest(corpus, touched=[])
