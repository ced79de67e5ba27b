"""Document metadata: title, 文号, issuers, region, dates, validity and draft status.

``header`` holds the metadata lines the cleaner removed from the page (索引号, 文号, 成文日期,
发布机构, 信息来源 …, in any of the layouts sites use: "键:值", "键: | 值 |", or key and
value on separate lines); ``body`` is the cleaned simplified text.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from huiqi.document import Region
from huiqi.ingest.boilerplate import key_row_cells
from huiqi.ingest.outline import parse_cn_number, trailer
from huiqi.ingest.regions import find_region

__all__ = ["Metadata", "extract_metadata", "find_region", "parse_date"]


@dataclass
class Metadata:
    title: str = ""
    doc_number: str | None = None
    issuers: list[str] = field(default_factory=list)
    region: Region = field(default_factory=Region)
    signed_date: date | None = None
    published_date: date | None = None
    effective_from: date | None = None
    effective_to: date | None = None
    validity_text: str | None = None
    status: str = "final"  # "final" | "draft"
    status_label: str | None = None
    warnings: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------
# dates

_CN_YEAR_DIGITS = {"〇": "0", "零": "0", "○": "0", "O": "0", "Ｏ": "0", "一": "1", "二": "2", "三": "3", "四": "4",
                   "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}
_DATE_RE = re.compile(
    r"(?P<y>(?:19|20)\d{2})\s*(?:年\s*(?P<m1>\d{1,2})\s*月\s*(?:(?P<d1>\d{1,2})\s*日|(?P<end1>底|末))?"
    r"|[-./](?P<m2>\d{1,2})[-./](?P<d2>\d{1,2})|年(?P<end2>底|末))"
    r"|(?P<cy>[〇零○OＯ一二三四五六七八九]{4})\s*年\s*(?P<cm>[一二三四五六七八九十]{1,2})\s*月\s*(?P<cd>[一二三四五六七八九十]{1,3})\s*日"
)


def _date_from_match(m: re.Match[str]) -> date | None:
    try:
        if m.group("cy"):
            y = int("".join(_CN_YEAR_DIGITS[c] for c in m.group("cy")))
            mo = parse_cn_number(m.group("cm"))
            d = parse_cn_number(m.group("cd"))
            if mo is None or d is None:
                return None
            return date(y, mo, d)
        y = int(m.group("y"))
        if m.group("end2"):
            return date(y, 12, 31)
        mo_s = m.group("m1") or m.group("m2")
        if mo_s is None:
            return None
        mo = int(mo_s)
        d_s = m.group("d1") or m.group("d2")
        if d_s:
            return date(y, mo, int(d_s))
        if m.group("end1"):
            return date(y, mo, calendar.monthrange(y, mo)[1])
        return None
    except (ValueError, KeyError):
        return None


def parse_date(s: str) -> date | None:
    """First complete date in s: 2022年5月27日, 2022-06-29, 2022.6.29, 二〇二二年六月十六日,
    2023年6月底 (last day of the month), 2023年底 (31 December); None if there is none."""
    for m in _DATE_RE.finditer(s):
        d = _date_from_match(m)
        if d is not None:
            return d
    return None


def parse_compact_date(s: str) -> date | None:
    """A date printed without separators: 20240229, or 2024229 when only one reading is a date."""
    s = s.strip()
    if not re.fullmatch(r"(?:19|20)\d{5,6}", s):
        return None
    year, rest = int(s[:4]), s[4:]
    splits = [(rest[:2], rest[2:])] if len(rest) == 4 else [(rest[:1], rest[1:]), (rest[:2], rest[2:])]
    found: list[date] = []
    for mo, d in splits:
        try:
            found.append(date(year, int(mo), int(d)))
        except ValueError:
            continue
    return found[0] if len(found) == 1 else None


def _period_end(start: date, years: int = 0, months: int = 0) -> date:
    """Last day of a period of years/months that includes its first day (民法典 第202条: the day
    before the corresponding day; the month end when the expiry month has no corresponding day)."""
    month = start.month - 1 + months
    y, mo = start.year + years + month // 12, month % 12 + 1
    last = calendar.monthrange(y, mo)[1]
    if start.day > last:
        return date(y, mo, last)
    return date(y, mo, start.day) - timedelta(days=1)


# ---------------------------------------------------------------------------------------
# header fields

_KEYS = (
    "索引号|主题分类|主题词|发文日期|发布日期|发布时间|成文日期|印发日期|生效日期|实施日期|失效日期|发布机构|发布单位|"
    "发文机关|发文单位|信息来源|来源|文号|发文字号|有效性|规范性文件统一编号|文件统一编号|统一编号|政策层级分类|公开方式|标题|名称|"
    "体裁分类|组配分类|服务对象|有效期|作者|浏览次数"
)
_KEY_RE = re.compile(rf"(?<![\u4e00-\u9fff])({_KEYS})\s*[:：]?")


def _header_fields(header: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    # a row of keys over a row of values: 索引号 文号 成文日期 … / 0001 某政发〔2024〕6号 2024-02-29 …
    rows = [ln for ln in header.splitlines() if ln.strip()]
    for k, row in enumerate(rows[:-1]):
        row_keys = key_row_cells(row)
        if row_keys is None:
            continue
        values = [c for c in re.split(r"\s+|[|｜]", rows[k + 1].strip(" \t\u3000|｜")) if c]
        if len(values) == len(row_keys):
            for key, value in zip(row_keys, values, strict=True):
                fields.setdefault(_canonical_key(key), value)
    lines = [ln.strip() for ln in header.replace("|", "\n").splitlines()]
    lines = [ln for ln in lines if ln]
    i = 0
    while i < len(lines):
        line = lines[i]
        keys = [m for m in _KEY_RE.finditer(line) if m.start() == 0 or line[m.start() - 1].isspace()]
        if not keys or keys[0].start() != 0:
            i += 1
            continue
        for k, m in enumerate(keys):
            end = keys[k + 1].start() if k + 1 < len(keys) else len(line)
            value = line[m.end() : end].strip()
            if not value and k + 1 == len(keys) and i + 1 < len(lines):
                nxt = lines[i + 1]
                nm = _KEY_RE.match(nxt)
                if not (nm and (nm.end() == len(nxt) or nxt[nm.end() - 1] in ":：")):
                    value = nxt
                    i += 1
            fields.setdefault(m.group(1), value)
        i += 1
    return fields


def _canonical_key(key: str) -> str:
    m = _KEY_RE.fullmatch(key)
    return m.group(1) if m else key


# ---------------------------------------------------------------------------------------
# title, 文号, issuers

_DOC_NO = re.compile(
    r"[\u4e00-\u9fff]{1,14}\s*[〔\[【(（［]\s*(?:19|20)\d{2}\s*[〕\]】)）］]\s*\d{1,4}\s*[号號]"
)
# 文号 printed without brackets on a line of its own: 砚发201120 号 is 砚发〔2011〕20号 (the year is
# always the first four digits).
_DOC_NO_BARE = re.compile(r"(?P<p>[\u4e00-\u9fff]{1,14}[发發字函办辦规規])\s*(?P<y>(?:19|20)\d{2})\s*(?P<n>\d{1,4})\s*[号號]")
# Serial numbers of 公告 and 令 on a line of their own: (2023年第5号), 某县人民政府公告 2023年第5号,
# 某市人民政府令第18号. Without a year or the word 公告/令 a bare 第5号 is no 文号.
_DOC_NO_SERIAL = re.compile(
    r"[(（]?\s*(?:(?P<org>[\u4e00-\u9fff]{2,24}(?:公告|令))\s*[(（]?\s*(?:(?:19|20)\d{2}\s*年\s*)?"
    r"|(?:19|20)\d{2}\s*年\s*)第\s*\d{1,4}\s*[号號]\s*[)）]?\s*[)）]?"
)
_TITLE_END = re.compile(
    r"(若干措施|若干政策|政策措施|实施意见|实施方案|行动方案|工作方案|意见|方案|措施|通知|办法|细则|规定|决定|"
    r"政策|计划|通告|公告|指南|规划|条例|要点|规则|意见稿|送审稿)"
    r"\s*([(（][^()（）]{0,20}[)）]\s*){0,2}$"
)
_DRAFT = re.compile(r"征求意见稿|送审稿|草案|讨论稿|修订稿|代拟稿")
_WRAPPER = re.compile(r"^关于(?:对)?《(?P<inner>[^》]+)》(?P<rest>.*?)(公示|征求意见|公开征求|意见征集|征集意见)")
_ORGAN_LINE = re.compile(r"(政府|委员会|委|局|办公室|办|厅|中心|管委会|领导小组)$")
_ORGAN_PIECE = re.compile(
    r".+?(?:人民政府办公室|人民政府办公厅|人民政府|委员会办公室|委员会|市委|县委|区委|省委|州委|党委|办公室|办公厅|"
    r"工作办公室|管委会|管理局|中心支行|分局|支行|中心|局|厅|委|办)"
)


def _clean_line(s: str) -> str:
    return s.strip().strip("|").strip()


# A label a site prints before the title on the same line (临西县:关于…, 政策文件:…), and the 文号
# glued to the front of the title (中坦府规字〔2024〕4号中山市…关于…的通知): neither is the title.
_PAGE_LABEL = re.compile(r"^[^:：。,，;；《》“”()（）]{1,24}[:：]\s*(?=\S*?关于)")


def _strip_page_labels(line: str) -> str:
    line = _PAGE_LABEL.sub("", line, count=1)
    m = _DOC_NO.match(line)
    if m and "关于" in line[m.end() :]:
        line = line[m.end() :].lstrip()
    return line


def _doc_number_of_line(line: str) -> str | None:
    """The 文号 a line of its own holds, normalised (no blanks, 號 → 号, brackets added to a bare one)."""
    line = _PAGE_LABEL.sub("", line, count=1)
    m = _DOC_NO.fullmatch(line) or (_DOC_NO.match(line) if "关于" in line else None)
    if m:
        return m.group(0)
    bm = _DOC_NO_BARE.fullmatch(line)
    if bm:
        return f"{bm.group('p')}〔{bm.group('y')}〕{bm.group('n')}号"
    sm = _DOC_NO_SERIAL.fullmatch(line)
    if sm:
        return line.strip("()（） \t")
    return None


def _title_candidates(header: str, body: str) -> list[str]:
    lines: list[str] = []
    for src in (header, body[:3000]):
        for raw in src.replace("|", "\n").splitlines():
            line = _strip_page_labels(_clean_line(raw))
            if line:
                lines.append(line)
    out: list[str] = []
    for k, line in enumerate(lines):
        if len(line) > 150:
            # a page flattened into one line: the title is the leading piece before the first space
            lead = re.split(r"\s+", line, maxsplit=1)[0]
            if 6 <= len(lead) <= 150 and "关于" in lead and _TITLE_END.search(lead) and not _KEY_RE.match(lead):
                out.append(lead)
            continue
        if len(line) < 6 or line.endswith(("。", ":", "：", ",", ",")):
            continue
        if _KEY_RE.match(line) or _NOT_A_TITLE.match(line) or _DOC_NO.fullmatch(line):
            continue
        joined = _continued_title(lines, k)
        if joined:
            # a title broken over lines (十堰市推进…高质量发展 / 若干政策意见(2018-2020), or at a quoted
            # term: 关于实施 / “一事一议” / 招商政策的通知) is the whole, not its first line
            out.append(joined)
        if _WRAPPER.match(line) or "关于" in line or _TITLE_END.search(line):
            out.append(line)
    return out


# Lines that are never the document's title: the attachment list (附件:1.…) and outline headings
# (一、…, (一)…, 1.…, 第一条…) of a page that prints no title line.
_NOT_A_TITLE = re.compile(
    r"附件\s*[:：\d一二三四五六七八九十]|[(（]此件[^()（）]{0,10}[)）]|[一二三四五六七八九十]{1,3}\s*[、.．]|[(（][一二三四五六七八九十\d]{1,3}[)）]"
    r"|\d{1,2}\s*[、.．](?!\d)|第[一二三四五六七八九十百\d]{1,4}条"
)


def _continued_title(lines: list[str], k: int) -> str | None:
    """lines[k] joined with up to three following lines when only the whole reads as a title."""
    line = lines[k]
    if (
        _TITLE_END.search(line)
        or "。" in line
        or _ORGAN_LINE.search(line)
        # the 文号 printed above the title is never its first half (穗开商务规字〔2019〕4号 / 广州开发区…)
        or _DOC_NO.fullmatch(line)
        # a date or code cell of the header table is never the first half of a title
        or re.search(r"[\u4e00-\u9fff]{4}", line) is None
    ):
        return None
    joined = line
    for nxt in lines[k + 1 : k + 4]:
        if nxt.startswith("关于") or _KEY_RE.match(nxt) or re.search(r"[。,，:：;；]", nxt):
            return None
        joined += nxt
        if len(joined) > 150:
            return None
        if _TITLE_END.search(joined):
            # a heading cut short by the page (《某省进一步…实行 / 某省人民政府办公厅关于印发…) is no title
            return joined if joined.count("《") == joined.count("》") else None
    return None


def _prefer_notice(candidates: list[str]) -> list[str]:
    """A page heading without 关于 (某省科技金融专项资金管理办法) right before the notice that issues
    it (某省科技厅关于印发某省科技金融专项资金管理办法的通知): the notice is the document's title."""
    if len(candidates) < 2 or "关于" in candidates[0]:
        return candidates
    head = candidates[0]
    for k, cand in enumerate(candidates[1:3], start=1):
        if "印发" in cand and "关于" in cand and sum(ch in cand for ch in head) >= 0.9 * len(head):
            return [cand, *candidates[:k], *candidates[k + 1 :]]
    return candidates


# A place name alone (奉贤区, 青岛高新区) before 关于 names where, not which organ, issued the text.
_PLACE_ONLY = re.compile(r"[\u4e00-\u9fff]{1,10}(?:省|市|县|区|旗|州|盟|镇|乡)")


def _split_organs(prefix: str) -> list[str]:
    prefix = re.sub(r"等(?:\d+|[一二三四五六七八九十]+)?(?:个)?(?:部门|单位)$", "", prefix.strip())
    organs: list[str] = []
    for part in re.split(r"[\s、,，]+", prefix):
        if not part:
            continue
        pieces = _ORGAN_PIECE.findall(part)
        rest = part[sum(len(p) for p in pieces) :]
        for p in pieces:
            if organs and (p in ("办公室", "办公厅") or p.startswith("办公")):
                organs[-1] += p
            else:
                organs.append(p)
        if rest:
            if organs and len(rest) <= 3:
                organs[-1] += rest
            else:
                organs.append(rest)
    return organs


def _signature(body: str) -> tuple[list[str], date | None]:
    """Issuer names and date in the trailing block of the main text."""
    a, b = trailer(body)
    names: list[str] = []
    signed: date | None = None
    for raw in re.split(r"\s+", body[a:b]):
        piece = raw.strip()
        if not piece:
            continue
        d = parse_date(piece) or parse_compact_date(piece)
        if d and len(piece) <= 20:
            signed = d
            continue
        if (
            len(piece) <= 40
            and not re.search(r"[。,，:：;；()（）]", piece)
            and re.search(r"(政府|委员会|委|局|办公室|办|厅|部|中心|支行|分局|管委会|领导小组|公司)$", piece)
        ):
            names.append(piece)
    return names, signed


_DATE_LINE = re.compile(r"^\s*(?P<d>(?:19|20)\d{2}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日|[〇零○OＯ一二三四五六七八九]{4}年[一二三四五六七八九十]{1,2}月[一二三四五六七八九十]{1,3}日)\s*$")


def _notice_signature(body: str) -> tuple[str | None, date | None]:
    """Organ and date under the signature of a 印发 notice that precedes the policy text itself.

    Pages of the genre often carry "关于印发…的通知", the notice's signature and date, then
    the policy: the first date line that follows an organ's name (blank lines between them do
    not count) is the signing date. When the title names the organ, the date may follow the
    notice's last sentence (…现印发给你们,请认真贯彻落实。) directly.
    """
    lines = [ln.strip() for ln in body[:4000].splitlines() if ln.strip()]
    for k, line in enumerate(lines):
        m = _DATE_LINE.match(line)
        if m is None or k == 0:
            continue
        above = lines[k - 1]
        if _ORGAN_LINE.search(above) and len(above) <= 40 and not re.search(r"[。,，:：;；]", above):
            return above, parse_date(m.group("d"))
        if above.endswith("。") and "印发" in above:
            return None, parse_date(m.group("d"))
    return None, None


# ---------------------------------------------------------------------------------------
# validity

_SCOPE = r"(?:本|以上|上述|此)(?:若干)?(?:实施)?(?:意见|方案|措施|办法|通知|政策|细则|规定|决定|条款|计划|文件|政策措施)"
# A match can only start where a clause fragment starts (the leading class would absorb any
# earlier start), so the lookbehind changes no result but stops the engine from retrying
# the greedy prefix at every character of the body.
_VALIDITY_SENT = re.compile(rf"(?<![^。\n;；\s])[^。\n;；\s]*{_SCOPE}[^。\n]*?(?:施行|实施|执行|有效期|有效)[^。\n]*")
_FROM_DATE = re.compile(r"自\s*(?P<d>[^起至止,，。]{6,16}?)\s*起")
_FROM_ISSUE = re.compile(r"自\s*(?:印发|发布|公布|签发|下发)\s*之日起")
_TO_DATE = re.compile(r"(?:有效期至|有效期到|执行至|截至|至)\s*(?P<d>[^,，。;；]{4,16}?)(?:止|结束|失效|[,，。;；]|$)")
_YEARS = re.compile(
    r"有效期\s*(?:为|暂定为?)?\s*(?P<n>\d{1,2}|[一二两三四五六七八九十])\s*(?:个)?(?P<u>年|个月|月)"
    # 暂定三年有效期 / 三年有效期: the length before the word
    r"|(?P<n2>\d{1,2}|[一二两三四五六七八九十])\s*(?:个)?(?P<u2>年|个月|月)(?:的)?有效期"
)
_TITLE_PERIOD = re.compile(
    r"[(（]\s*(?P<a>(?:19|20)\d{2})\s*(?:年)?\s*[-—–~～至到]\s*(?P<b>(?:19|20)\d{2})\s*年?\s*[)）]"
)


def _validity(body: str, signed: date | None, published: date | None) -> tuple[date | None, date | None, str | None]:
    for m in _VALIDITY_SENT.finditer(body):
        sent = m.group(0).strip()
        start: date | None = None
        end: date | None = None
        fm = _FROM_DATE.search(sent)
        if _FROM_ISSUE.search(sent):
            start = signed or published
        elif fm:
            start = parse_date(fm.group("d"))
        tm = _TO_DATE.search(sent)
        if tm:
            end = parse_date(tm.group("d"))
        ym = _YEARS.search(sent)
        if ym and end is None and start is not None:
            raw = ym.group("n") or ym.group("n2")
            unit = ym.group("u") or ym.group("u2")
            n = int(raw) if raw.isdigit() else (parse_cn_number(raw) or 0)
            if n:
                end = _period_end(start, years=n) if unit == "年" else _period_end(start, months=n)
        if start or end or _FROM_ISSUE.search(sent) or ym:
            return start, end, sent + ("。" if body[m.end() : m.end() + 1] == "。" else "")
    return None, None, None


# ---------------------------------------------------------------------------------------


def extract_metadata(header: str, body: str, title_hint: str | None = None) -> Metadata:
    """Read the metadata of one document from its removed header lines and cleaned body."""
    meta = Metadata()
    fields = _header_fields(header)

    # title and draft status
    found = _prefer_notice(_title_candidates(header, body))
    candidates = ([title_hint] if title_hint else []) + found
    title = ""
    for cand in candidates:
        cand = _clean_line(cand)
        wm = _WRAPPER.match(cand)
        if wm:
            title = wm.group("inner").strip()
            label = _DRAFT.search(wm.group("rest") or "") or _DRAFT.search(title)
            meta.status = "draft"
            meta.status_label = label.group(0) if label else "征求意见稿"
            break
        if not title:
            title = cand
            if "关于" in cand or _TITLE_END.search(cand):
                break
    if not title:
        title = fields.get("标题") or fields.get("名称") or ""
        if not title:
            meta.warnings.append("未找到文件标题")
    dm = _DRAFT.search(title)
    if dm:
        meta.status = "draft"
        meta.status_label = meta.status_label or dm.group(0)
        title = re.sub(rf"\s*[(（]?\s*{re.escape(dm.group(0))}\s*[)）]?\s*$", "", title)
    elif meta.status == "final":
        near = body[:1500]
        nm = re.search(r"[(（](征求意见稿|送审稿|草案|讨论稿)[)）]", near)
        if nm:
            meta.status = "draft"
            meta.status_label = nm.group(1)
    if meta.status == "final":
        # the name of another policy quoted in the title (关于废止《…办法(试行)》的通知) says nothing of this one
        own = re.sub(r"《[^》]*》", "", title)
        tm = re.search(r"[(（](试行|暂行)[)）]", own) or re.search(
            r"(试行|暂行)(?=(?:意见|办法|规定|细则|方案|措施|条例|规则|政策)(?:[(（)）]|的通知)?$)", own
        )
        if tm:
            meta.status_label = tm.group(1)
    meta.title = title

    # 文号
    number_field = fields.get("文号") or fields.get("发文字号") or ""
    nm2 = _DOC_NO.search(number_field)
    if nm2:
        meta.doc_number = nm2.group(0)
    elif number_field.strip():
        meta.doc_number = _doc_number_of_line(_clean_line(number_field))
    if meta.doc_number is None:
        for raw in body[:3000].splitlines()[:40]:
            number = _doc_number_of_line(_clean_line(raw))
            if number:
                meta.doc_number = number
                break
    if meta.doc_number:
        meta.doc_number = re.sub(r"\s+", "", meta.doc_number).replace("號", "号")

    # dates from header fields
    for key in ("成文日期", "印发日期"):
        if key in fields and meta.signed_date is None:
            meta.signed_date = parse_date(fields[key])
    for key in ("发布时间", "发布日期", "发文日期"):
        if key in fields and meta.published_date is None:
            meta.published_date = parse_date(fields[key])

    # issuers: title prefix, then signature block, then the page's publisher fields
    sig_names, sig_date = _signature(body)
    notice_organ, notice_date = _notice_signature(body)
    if meta.signed_date is None and meta.status == "final":
        meta.signed_date = sig_date or notice_date or _date_under_title(body, title)
    prefix_organs: list[str] = []
    pm = re.match(r"^(?P<p>.+?)关于", title)
    # 市政府印发《关于…》的通知: the 关于 is inside the quoted policy name, its prefix is no organ list
    if pm and not pm.group("p").startswith(("《", "对")) and "《" not in pm.group("p"):
        # 某市人民政府办公厅印发关于…的通知: 印发 belongs to the sentence, not to the organ's name
        organ_text = re.sub(r"(?:印发|转发|批转)$", "", pm.group("p"))
        prefix_organs = [o for o in _split_organs(organ_text) if not _PLACE_ONLY.fullmatch(o)]
    prefix_partial = bool(pm and re.search(r"等(?:\d+|[一二三四五六七八九十]+)?(?:个)?(?:部门|单位)$", pm.group("p")))
    if prefix_organs and not (prefix_partial and sig_names):
        meta.issuers = prefix_organs
    elif sig_names:
        meta.issuers = sig_names
    else:
        masthead = _masthead(body, title) or notice_organ
        if masthead:
            meta.issuers = [masthead]
        else:
            # 信息来源 names the office that posted the page, not the organ that issued the document
            for key in ("发文机关", "发文单位", "发布机构", "发布单位"):
                if fields.get(key):
                    meta.issuers = [fields[key]]
                    break

    # validity
    frm, to, sent = _validity(body, meta.signed_date, meta.published_date)
    pm2 = _TITLE_PERIOD.search(title)
    if pm2:
        y1, y2 = int(pm2.group("a")), int(pm2.group("b"))
        if y1 <= y2:
            frm = frm or date(y1, 1, 1)
            to = to or date(y2, 12, 31)
            sent = sent or pm2.group(0)
    meta.effective_from, meta.effective_to, meta.validity_text = frm, to, sent

    meta.region = find_region(
        [" ".join(meta.issuers), title, _title_label(body, title)],
        [" ".join(fields.get(k, "") for k in ("发布机构", "发布单位", "发文机关", "信息来源")), body[:2000]],
    )
    if meta.region.county is None:
        # a district that names itself only in the body: 结合官渡区实际, 立足奉贤区实际
        lm = _LOCAL_FACTS.search(body[:4000])
        if lm:
            local = find_region([lm.group(1)], [title, body[:2000]])
            if (
                local.county
                and local.county == find_region([lm.group(1)]).county
                and meta.region.city in (None, local.city)
                and meta.region.province in (None, local.province)
            ):
                meta.region = local
    if meta.region.province is None and meta.region.county is None:
        meta.warnings.append("未能确定文件所属地区")
    return meta


_LOCAL_FACTS = re.compile(r"(?:结合|立足|根据)(?![我本全各])([\u4e00-\u9fff]{2,10}?(?:县|区|旗|市))(?:的)?(?:实际|区情|县情|市情)")


def _title_label(body: str, title: str) -> str:
    """The label a site printed before the title on its line (临西县:关于…): it names the place."""
    if not title:
        return ""
    for raw in body[:3000].splitlines():
        m = _PAGE_LABEL.match(_clean_line(raw))
        if m and title in raw:
            return m.group(0).rstrip(":： ")
    return ""


_PAREN_DATE_LINE = re.compile(r"^[(（]\s*(?P<d>[^()（）]{6,20}?)\s*[)）]$")


def _date_under_title(body: str, title: str) -> date | None:
    """A date in brackets on the line right under the title: (2023年2月8日)."""
    if not title:
        return None
    m = re.search(rf"(?m)^[^\S\n]*{re.escape(title)}[^\S\n]*$", body[:5000])
    if m is None:
        return None
    for line in body[m.end() : m.end() + 200].splitlines():
        line = line.strip()
        if not line:
            continue
        dm = _PAREN_DATE_LINE.match(line)
        return parse_date(dm.group("d")) if dm else None
    return None


def _masthead(body: str, title: str) -> str | None:
    """An organ name standing alone on the line right above the title (聊城市…办公室 / 关于…)."""
    if not title:
        return None
    # a reposting site prints the title twice, the organ between them (标题 / 某省人民政府 / 标题)
    for m in re.finditer(rf"(?m)^[^\S\n]*{re.escape(title)}", body[:6000]):
        before = [ln.strip() for ln in body[: m.start()].splitlines() if ln.strip()]
        if not before:
            continue
        cand = before[-1]
        if len(cand) <= 40 and not re.search(r"[。,，:：]", cand) and re.search(
            r"(政府|委员会|委|局|办公室|办|厅|部|中心|管委会|领导小组)$", cand
        ):
            return cand
    return None
