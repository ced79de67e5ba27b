"""Exact number parsing for policy text: Arabic, full-width and Chinese numerals, money, percentages.

Everything returns ``Decimal`` (or integer yuan) so that money never passes through a float.
Hand-rolled on purpose: cn2an.transform rewrites words such as 统一 into 统1, and generic
money extractors lose the 不 of 不超过.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from huiqi.errors import InputError
from huiqi.values import MONEY_MULTIPLIERS

# Full-width forms map 1:1 onto ASCII, so offsets survive normalisation.
FULLWIDTH = str.maketrans(
    {
        **{chr(0xFF10 + i): str(i) for i in range(10)},
        "．": ".", "％": "%", "（": "(", "）": ")", "：": ":", "∶": ":", "／": "/", "－": "-", "～": "~",
        "，": ",",
    }
)

CN_DIGITS: dict[str, int] = {
    "零": 0, "〇": 0, "○": 0, "一": 1, "壹": 1, "二": 2, "贰": 2, "两": 2, "三": 3, "叁": 3,
    "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "七": 7, "柒": 7, "八": 8, "捌": 8,
    "九": 9, "玖": 9,
}
CN_SMALL_UNITS: dict[str, int] = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
CN_BIG_UNITS: dict[str, int] = {"万": 10**4, "萬": 10**4, "亿": 10**8, "億": 10**8}
CN_NUMERAL_CHARS = "".join([*CN_DIGITS, *CN_SMALL_UNITS, *CN_BIG_UNITS, "廿"])

# Money units and their multipliers: the one value vocabulary (huiqi.values).

_ARABIC = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?|\.\d+")


def tidy(d: Decimal) -> Decimal:
    """Drop a meaningless fractional part left by scaling (15000.0 → 15000), keep 0.5."""
    if d == d.to_integral_value():
        return d.quantize(Decimal(1))
    return d.normalize()


# str.translate with a dict table steps through the text in Python-level lookups; most texts
# have nothing to fold (or only a few marks), so find out with one C-level scan first.
_FULLWIDTH_RE = re.compile("[" + re.escape("".join(chr(c) for c in FULLWIDTH)) + "]")


def normalize(s: str) -> str:
    """Full-width digits and punctuation to ASCII; same length as the input."""
    if _FULLWIDTH_RE.search(s) is None:
        return s
    return s.translate(FULLWIDTH)


def _fail(s: str, what: str = "数字") -> InputError:
    return InputError(f"无法解析{what}:“{s}”", field="number")


def parse_number(s: str) -> Decimal:
    """Parse 1,000 / １０ / 1.5万 / 3亿 / 二十 / 三百五十 / 一百零五 / 两 / 二〇二二 / 1万2千 exactly."""
    text = normalize(s).strip().replace(" ", "")
    if not text:
        raise _fail(s)
    if "点" in text:
        whole, _, frac = text.partition("点")
        if not frac or any(c not in CN_DIGITS and not c.isdigit() for c in frac):
            raise _fail(s)
        digits = "".join(str(CN_DIGITS[c]) if c in CN_DIGITS else c for c in frac)
        return tidy(parse_number(whole or "零") + Decimal("0." + digits))
    if re.fullmatch(r"\d+(?:,\d{3})*(?:\.\d+)?", text):
        return Decimal(text.replace(",", ""))
    # A run of bare Chinese digits is read digit by digit (二〇二二), not summed.
    if len(text) > 1 and all(c in CN_DIGITS for c in text):
        return Decimal("".join(str(CN_DIGITS[c]) for c in text))

    result = Decimal(0)  # completed 亿 groups
    wan = Decimal(0)  # completed 万 group
    section = Decimal(0)  # below 万
    current: Decimal | None = None
    last_unit = 0
    after_zero = False
    saw_digit = False
    i = 0
    while i < len(text):
        c = text[i]
        m = _ARABIC.match(text, i)
        if m:
            if current is not None:
                raise _fail(s)
            current = Decimal(m.group().replace(",", ""))
            saw_digit = True
            i = m.end()
            continue
        if c in CN_DIGITS:
            value = CN_DIGITS[c]
            if value == 0:
                after_zero = True
                saw_digit = True
                i += 1
                continue
            if current is not None:
                raise _fail(s)
            current = Decimal(value)
            saw_digit = True
        elif c == "廿":
            section += 20
            saw_digit = True
        elif c in CN_SMALL_UNITS:
            unit = CN_SMALL_UNITS[c]
            section += (current if current is not None else Decimal(1)) * unit
            current = None
            last_unit = unit
            after_zero = False
            saw_digit = True
        elif c in CN_BIG_UNITS:
            unit = CN_BIG_UNITS[c]
            if current is None and section == 0 and wan == 0 and result == 0:
                raise _fail(s)
            if unit == 10**8:
                result = (result + wan + section + (current or 0)) * unit
                wan = Decimal(0)
            else:
                wan = (wan + section + (current or 0)) * unit
            section = Decimal(0)
            current = None
            last_unit = unit
            after_zero = False
        else:
            raise _fail(s)
        i += 1
    if not saw_digit:
        raise _fail(s)
    if current is not None:
        # 一千二 means 1200 and 三万五 means 35000: a trailing digit counts in the next lower place,
        # unless a 零 (一百零五) pinned it to the units.
        if last_unit >= 10 and not after_zero and current == current.to_integral_value() and current < 10:
            current *= Decimal(last_unit) / 10
        section += current
    return tidy(result + wan + section)


# Money in another currency keeps its currency: 5000万美元 is 50,000,000 US dollars, never yuan.
FOREIGN_CURRENCIES: dict[str, str] = {"美元": "USD", "欧元": "EUR", "港元": "HKD", "港币": "HKD", "日元": "JPY"}


def currency_of(unit: str) -> str | None:
    """ISO 4217 code of a money unit in a foreign currency (万美元 → USD); None for 人民币."""
    for name, code in FOREIGN_CURRENCIES.items():
        if unit.endswith(name):
            return code
    return None


def money_multiplier(unit: str) -> int:
    """元 → 1, 万元 → 10000 ...; bare 万/亿 (as in 4500亿) are read as 万元/亿元. For a foreign
    currency the multiplier of its magnitude: 万美元 → 10000 (units of that currency)."""
    u = unit.strip()
    for name in FOREIGN_CURRENCIES:
        if u.endswith(name):
            u = u[: -len(name)] + "元"
            break
    if u not in MONEY_MULTIPLIERS:
        raise InputError(f"无法识别的金额单位:“{unit}”", field="unit")
    return MONEY_MULTIPLIERS[u]


def parse_money(number: str, unit: str) -> int:
    """Money as integer yuan: ("1.5", "亿元") → 150000000; raise when the result has fractional yuan."""
    value = parse_number(number) * money_multiplier(unit)
    if value != value.to_integral_value():
        raise InputError(f"金额不是整数元:“{number}{unit}”", field="amount")
    try:
        return int(value)
    except (InvalidOperation, ValueError) as exc:  # pragma: no cover - Decimal of a parsed number is finite
        raise _fail(number + unit, "金额") from exc


def parse_discount(s: str) -> Decimal:
    """八五折 / 85折 / 八折 / 7.5折 → percent of the full price paid (85, 85, 80, 75)."""
    text = normalize(s).strip().removesuffix("折")
    if not text:
        raise _fail(s, "折扣")
    if all(c in CN_DIGITS for c in text):
        if len(text) == 1:
            return Decimal(CN_DIGITS[text] * 10)
        if len(text) == 2:
            return Decimal(CN_DIGITS[text[0]] * 10 + CN_DIGITS[text[1]])
        raise _fail(s, "折扣")
    value = parse_number(text)
    if value <= 0 or value >= 100:
        raise _fail(s, "折扣")
    return tidy(value * 10 if value < 10 else value)


def parse_percent(s: str) -> Decimal:
    """Percent value: 10% / 10％ / 百分之十 → 10, 三成 → 30, 三成五 → 35, 八五折 → 85, 千分之五 → 0.5,
    万分之五 → 0.05, 0.5个百分点 → 0.5 (a percentage-point change; the caller keeps the unit)."""
    text = normalize(s).strip()
    if text.endswith("%"):
        return parse_number(text[:-1])
    if text.endswith("个百分点") or text.endswith("百分点"):
        return parse_number(text.removesuffix("个百分点").removesuffix("百分点"))
    for prefix, scale in (("百分之", Decimal(1)), ("千分之", Decimal("0.1")), ("万分之", Decimal("0.01"))):
        if text.startswith(prefix):
            return tidy(parse_number(text[len(prefix):]) * scale)
    if text.endswith("折"):
        return parse_discount(text)
    m = re.fullmatch(r"(.+?)成(.*)", text)
    if m:
        tenths = parse_number(m.group(1))
        extra = parse_number(m.group(2)) if m.group(2) else Decimal(0)
        if extra >= 10:
            raise _fail(s, "百分比")
        return tenths * 10 + extra
    raise _fail(s, "百分比")
