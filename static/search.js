// 搜索: queries the static index written by banmian/search.py (docs/search-index.md).
// Text is folded exactly as the index was (NFKC, lowercase, variant characters
// to one form), so a 繁體 query finds 简体 text and the reverse. A query fetches
// the manifest, the fold map, the term shards of a few of its terms and the
// documents it shows; BUDGET caps those bytes.
(function () {
  "use strict";

  var PAGE = 10;            // results shown per step
  var MAX_TERMS = 8;        // term shards fetched per query at most
  var BUDGET = 280000;      // bytes of index one query may fetch (the limit is 300 KB)
  var ALPHA = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  var HAN = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u{20000}-\u{3134f}";
  var TOKEN = new RegExp("[" + HAN + "]+|[a-z0-9]+", "gu");
  var HAN_RUN = new RegExp("^[" + HAN + "]", "u");

  var box = document.getElementById("search");
  if (!box) return;
  var base = box.getAttribute("data-index");
  var edition = box.getAttribute("data-edition");
  var form = document.getElementById("search-form");
  var input = document.getElementById("q");
  var from = document.getElementById("search-from");
  var to = document.getElementById("search-to");
  var pageSelect = document.getElementById("search-page");
  var status = document.getElementById("search-status");
  var list = document.getElementById("search-results");
  var more = document.getElementById("search-more");

  var strings = {};
  Array.prototype.forEach.call(document.querySelectorAll("#search-strings [data-key]"), function (el) {
    strings[el.getAttribute("data-key")] = el.textContent;
  });
  function say(key, values) {
    return (strings[key] || key).replace(/\{(\w+)\}/g, function (_, name) {
      return values && name in values ? values[name] : "";
    });
  }

  // -- fetching, with a byte count per query ----------------------------------
  var cache = new Map();
  var spent = 0;
  function getJSON(path) {
    if (cache.has(path)) return cache.get(path);
    var promise = fetch(base + path).then(function (response) {
      if (!response.ok) throw new Error(path + ": HTTP " + response.status);
      return response.arrayBuffer();
    }).then(function (buffer) {
      spent += buffer.byteLength;
      return JSON.parse(new TextDecoder().decode(buffer));
    });
    cache.set(path, promise);
    promise.catch(function () { cache.delete(path); });
    return promise;
  }

  // -- folding (the twin of banmian.search.normalise) --------------------------
  function pairMap(text) {
    var chars = Array.from(text), map = new Map();
    for (var i = 0; i + 1 < chars.length; i += 2) map.set(chars[i], chars[i + 1]);
    return map;
  }
  function foldChar(ch, fold) {
    var out = ch.normalize("NFKC").toLowerCase();
    if (out.length === ch.length && fold.has(out)) return fold.get(out);
    return Array.from(out).map(function (c) { return fold.get(c) || c; }).join("");
  }
  function fold(text, map) {
    return Array.from(text).map(function (c) { return foldChar(c, map); }).join("");
  }
  // Folded text with, for each folded UTF-16 offset, the index of the display character.
  function aligned(chars, map) {
    var out = "", where = [];
    chars.forEach(function (c, index) {
      var f = foldChar(c, map);
      for (var k = 0; k < f.length; k++) where.push(index);
      out += f;
    });
    where.push(chars.length);
    return { text: out, where: where };
  }

  // -- hashing and postings -----------------------------------------------------
  var CRC = (function () {
    var table = new Uint32Array(256);
    for (var n = 0; n < 256; n++) {
      var c = n;
      for (var k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
    return table;
  })();
  function crc32(text) {
    var bytes = new TextEncoder().encode(text), crc = 0xffffffff;
    for (var i = 0; i < bytes.length; i++) crc = CRC[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
    return (crc ^ 0xffffffff) >>> 0;
  }
  function decode(text) {
    var ids = [];
    if (!text) return ids;
    if (text.charAt(0) === "=") {
      var bits = 0, count = 0, index = 0;
      for (var i = 1; i < text.length; i++) {
        bits = (bits << 6) | ALPHA.indexOf(text.charAt(i));
        count += 6;
        if (count >= 8) {
          count -= 8;
          var byte = (bits >> count) & 0xff;
          for (var b = 0; b < 8; b++) if (byte & (1 << b)) ids.push(index * 8 + b);
          index++;
        }
      }
      return ids;
    }
    var value = 0, last = -1;
    for (var j = 0; j < text.length; j++) {
      var digit = ALPHA.indexOf(text.charAt(j));
      value = value * 32 + (digit & 31);
      if (digit < 32) { last += value + 1; ids.push(last); value = 0; }
    }
    return ids;
  }
  function intersect(a, b) {
    var out = [], i = 0, j = 0;
    while (i < a.length && j < b.length) {
      if (a[i] === b[j]) { out.push(a[i]); i++; j++; } else if (a[i] < b[j]) i++; else j++;
    }
    return out;
  }
  function union(a, b) {
    var out = [], i = 0, j = 0;
    while (i < a.length || j < b.length) {
      if (j >= b.length || (i < a.length && a[i] < b[j])) out.push(a[i++]);
      else if (i >= a.length || b[j] < a[i]) out.push(b[j++]);
      else { out.push(a[i]); i++; j++; }
    }
    return out;
  }

  // -- the query -----------------------------------------------------------------
  // A word (space-separated) is a list of alternatives, each a list of terms
  // that must all be present; phrases are the Han runs the text must contain.
  function parse(folded) {
    var words = [];
    folded.split(/\s+/).forEach(function (word) {
      var tokens = word.match(TOKEN) || [];
      if (!tokens.length) return;
      var han = tokens.filter(function (t) { return HAN_RUN.test(t); });
      var terms = [], phrases = [];
      tokens.forEach(function (t) {
        var chars = Array.from(t);
        if (!HAN_RUN.test(t) || chars.length === 1) { terms.push(t); return; }
        for (var i = 0; i + 1 < chars.length; i++) terms.push(chars[i] + chars[i + 1]);
        if (chars.length > 2) phrases.push(t);
      });
      var alternatives = [{ terms: unique(terms), phrases: phrases }];
      if (!han.length) alternatives = alternatives.concat(pinyinAlternatives(tokens.join("")));
      words.push({ alternatives: alternatives, needles: tokens });
    });
    return words;
  }
  // Pinyin of a title: the index has the pinyin of every run of 2–4 title
  // characters (qinghai, lvsesuanli). Longer input is split into syllables
  // (every way it can be, up to a few) and looked up four syllables at a time.
  var SYLLABLES = new Set(("a ai an ang ao ba bai ban bang bao bei ben beng bi bian biao bie bin bing bo bu ca cai can cang cao ce cen ceng cha chai chan chang chao che chen cheng chi chong chou chu chua chuai chuan chuang chui chun chuo ci cong cou cu cuan cui cun cuo da dai dan dang dao de dei den deng di dia dian diao die ding diu dong dou du duan dui dun duo e ei en eng er fa fan fang fei fen feng fiao fo fou fu ga gai gan gang gao ge gei gen geng gong gou gu gua guai guan guang gui gun guo ha hai han hang hao he hei hen heng hm hng hong hou hu hua huai huan huang hui hun huo ji jia jian jiang jiao jie jin jing jiong jiu ju juan jue jun ka kai kan kang kao ke kei ken keng kong kou ku kua kuai kuan kuang kui kun kuo la lai lan lang lao le lei len leng li lia lian liang liao lie lin ling liu lo long lou lu luan lun luo lv lve m ma mai man mang mao me mei men meng mi mian miao mie min ming miu mo mou mu n na nai nan nang nao ne nei nen neng ng ni nian niang niao nie nin ning niu nong nou nu nuan nun nuo nv nve o ou pa pai pan pang pao pei pen peng pi pian piao pie pin ping po pou pu qi qia qian qiang qiao qie qin qing qiong qiu qu quan que qun ran rang rao re ren reng ri rong rou ru rua ruan rui run ruo sa sai san sang sao se sen seng sha shai shan shang shao she shei shen sheng shi shou shu shua shuai shuan shuang shui shun shuo si song sou su suan sui sun suo ta tai tan tang tao te tei teng ti tian tiao tie ting tong tou tu tuan tui tun tuo wa wai wan wang wei wen weng wo wu xi xia xian xiang xiao xie xin xing xiong xiu xu xuan xue xun ya yan yang yao ye yi yin ying yo yong you yu yuan yue yun za zai zan zang zao ze zei zen zeng zha zhai zhan zhang zhao zhe zhei zhen zheng zhi zhong zhou zhu zhua zhuai zhuan zhuang zhui zhun zhuo zi zong zou zu zuan zui zun zuo").split(" "));
  function syllabify(text, limit) {
    var found = [];
    (function walk(at, done) {
      if (found.length >= limit) return;
      if (at === text.length) { found.push(done); return; }
      for (var end = Math.min(text.length, at + 6); end > at; end--) {
        var piece = text.slice(at, end);
        if (SYLLABLES.has(piece)) walk(end, done.concat([piece]));
      }
    })(0, []);
    return found;
  }
  function pinyinAlternatives(letters) {
    var out = [{ terms: ["~" + letters], phrases: [] }];
    if (!/^[a-z]+$/.test(letters)) return out;
    syllabify(letters, 4).forEach(function (syllables) {
      if (syllables.length <= 4) return;
      var terms = [];
      for (var i = 0; i < syllables.length; i += 4) {
        var start = Math.min(i, syllables.length - 4);
        terms.push("~" + syllables.slice(start, start + 4).join(""));
      }
      out.push({ terms: unique(terms), phrases: [] });
    });
    return out;
  }
  function unique(items) {
    return items.filter(function (item, i) { return items.indexOf(item) === i; });
  }
  // Long phrases are confirmed against the text, so a few of their bigrams
  // (spread out) are enough to find the candidates.
  function trim(words) {
    var all = [];
    words.forEach(function (w) { w.alternatives.forEach(function (a) { all = all.concat(a.terms); }); });
    if (unique(all).length <= MAX_TERMS) return;
    words.forEach(function (w) {
      w.alternatives.forEach(function (a) {
        var keep = Math.max(2, Math.floor(MAX_TERMS / words.length / w.alternatives.length));
        if (a.terms.length <= keep) return;
        var picked = [];
        for (var i = 0; i < keep; i++) picked.push(a.terms[Math.round(i * (a.terms.length - 1) / (keep - 1))]);
        a.terms = unique(picked);
        a.sampled = true;
      });
    });
  }

  // manifest.issues: per issue, days since the previous one and its article
  // count, as varints; ids run in date order, so each issue is an id range.
  function issueList(manifest) {
    if (manifest._issues) return manifest._issues;
    var out = [], numbers = [], value = 0, text = manifest.issues.runs || "";
    for (var i = 0; i < text.length; i++) {
      var digit = ALPHA.indexOf(text.charAt(i));
      value = value * 32 + (digit & 31);
      if (digit < 32) { numbers.push(value); value = 0; }
    }
    var day = Date.parse(manifest.issues.first + "T00:00:00Z"), first = 0;
    for (var k = 0; k + 1 < numbers.length; k += 2) {
      day += numbers[k] * 86400000;
      out.push([new Date(day).toISOString().slice(0, 10), first, numbers[k + 1]]);
      first += numbers[k + 1];
    }
    manifest._issues = out;
    return out;
  }
  function idRange(manifest, fromDate, toDate) {
    var lo = 0, hi = manifest.docs - 1;
    var issues = issueList(manifest);
    if (fromDate) {
      lo = manifest.docs;
      for (var i = 0; i < issues.length; i++) if (issues[i][0] >= fromDate) { lo = issues[i][1]; break; }
    }
    if (toDate) {
      hi = -1;
      for (var j = issues.length - 1; j >= 0; j--) if (issues[j][0] <= toDate) { hi = issues[j][1] + issues[j][2] - 1; break; }
    }
    return [lo, hi];
  }

  function postingsOf(manifest, term) {
    var shard = crc32(term) & (manifest.shards - 1);
    return getJSON("terms/" + shard + ".json").then(function (data) {
      var value = data[term];
      if (value === undefined) return { all: [], head: [] };
      if (typeof value === "string") return { all: decode(value), head: [] };
      var all = decode(value[0]);
      return { all: all, head: value[1] === "*" ? all : decode(value[1]) };
    });
  }

  // Candidates in rank order: more words in the headline first, then newest.
  function candidates(manifest, words, range, pageCode) {
    var lookups = new Map();
    words.forEach(function (w) { w.alternatives.forEach(function (a) { a.terms.forEach(function (t) { lookups.set(t, null); }); }); });
    if (pageCode) lookups.set("@" + pageCode.toLowerCase(), null);
    var keys = Array.from(lookups.keys());
    return Promise.all(keys.map(function (t) { return postingsOf(manifest, t); })).then(function (found) {
      keys.forEach(function (t, i) { lookups.set(t, found[i]); });
      var result = null, heads = [];
      words.forEach(function (w) {
        var any = [], head = [];
        w.alternatives.forEach(function (a) {
          var all = null, inHead = null;
          a.terms.forEach(function (t) {
            var p = lookups.get(t);
            all = all === null ? p.all : intersect(all, p.all);
            inHead = inHead === null ? p.head : intersect(inHead, p.head);
          });
          any = union(any, all || []);
          head = union(head, inHead || []);
        });
        result = result === null ? any : intersect(result, any);
        heads.push(new Set(head));
      });
      if (pageCode) result = intersect(result, lookups.get("@" + pageCode.toLowerCase()).all);
      result = (result || []).filter(function (id) { return id >= range[0] && id <= range[1]; });
      var score = new Map();
      result.forEach(function (id) {
        score.set(id, heads.reduce(function (n, set) { return n + (set.has(id) ? 1 : 0); }, 0));
      });
      result.sort(function (a, b) { return score.get(b) - score.get(a) || b - a; });
      return { ids: result, score: score };
    });
  }

  // -- documents ---------------------------------------------------------------------
  var sourceEdition = null; // the manifest's: the script doc.b is written in
  function fieldsOf(doc) { return doc.e[edition] || doc.e[sourceEdition]; }
  function allText(doc) {
    var f = doc.e[sourceEdition];
    return [f.k, f.t, f.s, f.r, f.c, f.n, doc.b].filter(Boolean).join("\n");
  }
  // Every phrase of some alternative of every word is in the text.
  function confirms(words, text) {
    return words.every(function (w) {
      return w.alternatives.some(function (a) {
        return a.phrases.every(function (p) { return text.indexOf(p) >= 0; });
      });
    });
  }
  // The body in this edition's script: the source text converted character
  // by character, with the doc's own context fixes (头发 → 頭髮).
  function displayBody(doc, chars) {
    var source = Array.from(doc.b);
    if (!chars) return source;
    var fixes = new Map();
    var x = Array.from((doc.x && doc.x[edition]) || "");
    for (var i = 0; i + 3 < x.length; i += 4) fixes.set(x[i] + x[i + 1], x[i + 2] + x[i + 3]);
    return source.map(function (c, k) {
      var before = k > 0 ? fixes.get(source[k - 1] + c) : null;
      if (before) return Array.from(before)[1];
      var after = k + 1 < source.length ? fixes.get(c + source[k + 1]) : null;
      if (after) return Array.from(after)[0];
      return chars.get(c) || c;
    });
  }

  // -- rendering -----------------------------------------------------------------------
  function marked(parent, chars, ranges) {
    var flags = new Uint8Array(chars.length);
    ranges.forEach(function (r) { for (var i = r[0]; i < r[1]; i++) flags[i] = 1; });
    var i = 0;
    while (i < chars.length) {
      var j = i;
      while (j < chars.length && flags[j] === flags[i]) j++;
      var text = chars.slice(i, j).join("");
      if (flags[i]) {
        var mark = document.createElement("mark");
        mark.textContent = text;
        parent.appendChild(mark);
      } else {
        parent.appendChild(document.createTextNode(text));
      }
      i = j;
    }
  }
  function hits(chars, needles, map) {
    var a = aligned(chars, map), ranges = [];
    needles.forEach(function (n) {
      var at = a.text.indexOf(n);
      while (n && at >= 0) {
        ranges.push([a.where[at], a.where[at + n.length - 1] + 1]);
        at = a.text.indexOf(n, at + n.length);
      }
    });
    ranges.sort(function (x, y) { return x[0] - y[0]; });
    return ranges;
  }
  function snippet(chars, ranges) {
    var WIDTH = 90, BEFORE = 24;
    var start = 0;
    if (ranges.length) start = Math.max(0, ranges[0][0] - BEFORE);
    if (start < 12) start = 0; // no "……" for a few characters
    // Start at a paragraph when one begins shortly before the hit.
    var para = chars.lastIndexOf("\n", ranges.length ? ranges[0][0] : 0);
    if (para >= start - 1 && para >= 0) start = para + 1;
    var end = Math.min(chars.length, start + WIDTH);
    var piece = chars.slice(start, end).map(function (c) { return c === "\n" ? " " : c; });
    var shifted = ranges.filter(function (r) { return r[0] >= start && r[1] <= end; })
      .map(function (r) { return [r[0] - start, r[1] - start]; });
    return { chars: piece, ranges: shifted, cutStart: start > 0, cutEnd: end < chars.length };
  }
  function formatDate(iso) {
    var parts = iso.split("-");
    return say("date", { y: parts[0], m: String(+parts[1]), d: String(+parts[2]) });
  }
  function renderResult(doc, words, foldMap, chars) {
    var f = fieldsOf(doc);
    var needles = [];
    words.forEach(function (w) { needles = needles.concat(w.needles); });
    var item = document.createElement("li");
    item.className = "search-result";
    if (f.k) {
      var kicker = document.createElement("p");
      kicker.className = "kicker";
      marked(kicker, Array.from(f.k), hits(Array.from(f.k), needles, foldMap));
      item.appendChild(kicker);
    }
    var heading = document.createElement("h2");
    var link = document.createElement("a");
    link.href = f.u;
    var title = Array.from(f.t);
    marked(link, title, hits(title, needles, foldMap));
    heading.appendChild(link);
    item.appendChild(heading);
    if (f.s) {
      var sub = document.createElement("p");
      sub.className = "subtitle";
      marked(sub, Array.from(f.s), hits(Array.from(f.s), needles, foldMap));
      item.appendChild(sub);
    }
    var meta = document.createElement("p");
    meta.className = "search-meta";
    var time = document.createElement("time");
    time.dateTime = doc.d;
    time.textContent = formatDate(doc.d);
    meta.appendChild(time);
    var page = document.createElement("span");
    page.className = "search-page-label";
    page.textContent = say("page", { code: doc.p }) + (f.n ? " " + f.n : "");
    meta.appendChild(page);
    if (f.c) {
      var column = document.createElement("span");
      column.className = "column";
      column.textContent = "【" + f.c + "】";
      meta.appendChild(column);
    }
    item.appendChild(meta);
    var body = displayBody(doc, chars);
    var cut = snippet(body, hits(body, needles, foldMap));
    var p = document.createElement("p");
    p.className = "search-snippet";
    if (cut.cutStart) p.appendChild(document.createTextNode("……"));
    marked(p, cut.chars, cut.ranges);
    if (cut.cutEnd) p.appendChild(document.createTextNode("……"));
    item.appendChild(p);
    return item;
  }

  // -- one search ------------------------------------------------------------------------
  var current = 0; // a newer search makes older ones stop rendering
  var docBytes = 6000; // a generous guess at one doc/<id>.json, refined as they arrive
  var state = null;

  function run(params) {
    var token = ++current;
    var query = (params.get("q") || "").trim();
    list.textContent = "";
    more.hidden = true;
    if (!query) { status.textContent = params.has("q") ? say("empty") : ""; return Promise.resolve(); }
    status.textContent = say("loading");
    spent = 0;
    return getJSON("manifest.json").then(function (manifest) {
      fillFilters(manifest);
      sourceEdition = manifest.source;
      var info = manifest.editions[edition] || {};
      var charsPath = info.chars ? info.chars.replace(/^search\//, "") : null;
      return Promise.all([
        manifest,
        getJSON("fold.json"),
        charsPath ? getJSON(charsPath) : null,
      ]);
    }).then(function (loaded) {
      var manifest = loaded[0];
      var foldMap = pairMap(loaded[1].pairs);
      var chars = loaded[2] ? pairMap(loaded[2].pairs) : null;
      var words = parse(fold(query, foldMap));
      if (!words.length) return finish(token, query, { ids: [] }, [], foldMap, chars);
      trim(words);
      var exact = words.every(function (w) {
        return w.alternatives.every(function (a) { return !a.phrases.length && !a.sampled; });
      });
      var range = idRange(manifest, params.get("from"), params.get("to"));
      return candidates(manifest, words, range, params.get("page")).then(function (found) {
        if (token !== current) return;
        state = { token: token, query: query, words: words, found: found, next: 0, confirmed: 0,
                  rejected: 0, exact: exact, foldMap: foldMap, chars: chars };
        return showMore(state, true);
      });
    }).catch(function (error) {
      if (token !== current) return;
      status.textContent = say("error");
      if (window.console) console.error(error);
    });
  }

  function finish(token, query) {
    if (token !== current) return;
    status.textContent = say("none", { q: query });
  }

  // Fetch and confirm the next documents in rank order until a page is full
  // or the byte budget of this step is spent.
  function showMore(s, first) {
    if (!first) spent = 0;
    var ids = s.found.ids;
    var shown = 0;
    function step() {
      if (s.token !== current) return null;
      if (shown >= PAGE || s.next >= ids.length) return null;
      // Never start a batch that could take the query past its budget.
      var room = Math.floor((BUDGET - spent) / Math.max(docBytes, 2000));
      var size = Math.min(PAGE - shown, 10, room);
      if (size < 1) return null;
      var before = spent;
      var batch = ids.slice(s.next, s.next + size);
      s.next += batch.length;
      return Promise.all(batch.map(function (id) { return getJSON("doc/" + id + ".json"); })).then(function (docs) {
        if (s.token !== current) return null;
        // The largest document seen sets the pace (bodies vary in length).
        docBytes = Math.max(docBytes, (spent - before) / Math.max(1, batch.length) * 1.5);
        docs.forEach(function (doc) {
          if (!s.exact && !confirms(s.words, fold(allText(doc), s.foldMap))) { s.rejected++; return; }
          list.appendChild(renderResult(doc, s.words, s.foldMap, s.chars));
          s.confirmed++;
          shown++;
        });
        return step();
      });
    }
    return Promise.resolve(step()).then(function () {
      if (s.token !== current) return;
      var total = s.found.ids.length;
      var complete = s.exact || s.next >= total;
      var count = complete ? total - s.rejected : total;
      if (!s.confirmed && s.next >= total) { status.textContent = say("none", { q: s.query }); return; }
      var text = say(complete ? "count" : "about", { n: count });
      if (s.confirmed < count) text += "，" + say("shown", { n: s.confirmed });
      status.textContent = text;
      more.hidden = s.next >= total;
    });
  }

  var filled = false;
  function fillFilters(manifest) {
    if (filled) return;
    filled = true;
    var issues = issueList(manifest);
    if (issues.length) {
      [from, to].forEach(function (el) { el.min = issues[0][0]; el.max = issues[issues.length - 1][0]; });
    }
    var chosen = pageSelect.value;
    while (pageSelect.options.length > 1) pageSelect.remove(1);
    Object.keys(manifest.pages).forEach(function (code) {
      var option = document.createElement("option");
      option.value = code;
      var name = manifest.pages[code][edition] || "";
      option.textContent = code + (name ? " " + name : "");
      pageSelect.appendChild(option);
    });
    pageSelect.value = chosen;
  }

  // -- the page: URL ⇄ form -----------------------------------------------------------------
  function paramsFromForm() {
    var params = new URLSearchParams();
    params.set("q", input.value.trim());
    if (from.value) params.set("from", from.value);
    if (to.value) params.set("to", to.value);
    if (pageSelect.value) params.set("page", pageSelect.value);
    return params;
  }
  function formFromParams(params) {
    input.value = params.get("q") || "";
    from.value = params.get("from") || "";
    to.value = params.get("to") || "";
    var page = params.get("page") || "";
    if (page && !Array.prototype.some.call(pageSelect.options, function (o) { return o.value === page; })) {
      var option = document.createElement("option");
      option.value = option.textContent = page;
      pageSelect.appendChild(option);
    }
    pageSelect.value = page;
  }
  // The edition switcher keeps the query: the same search in the other script.
  function carryQuery() {
    Array.prototype.forEach.call(document.querySelectorAll(".editions a[hreflang]"), function (a) {
      a.href = a.href.split("?")[0] + window.location.search;
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var params = paramsFromForm();
    var url = window.location.pathname + "?" + params.toString();
    if (url !== window.location.pathname + window.location.search) window.history.pushState(null, "", url);
    carryQuery();
    run(params);
  });
  more.addEventListener("click", function () {
    if (state && state.token === current) showMore(state, false);
  });
  window.addEventListener("popstate", function () {
    var params = new URLSearchParams(window.location.search);
    formFromParams(params);
    carryQuery();
    run(params);
  });

  var initial = new URLSearchParams(window.location.search);
  formFromParams(initial);
  carryQuery();
  if (initial.get("q")) run(initial);
  else getJSON("manifest.json").then(fillFilters).catch(function () { /* shown on search */ });
})();
