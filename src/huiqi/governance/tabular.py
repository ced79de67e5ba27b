"""Reading office spreadsheets (CSV or Excel) as rows of text with their line numbers."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import NamedTuple

from huiqi.errors import InputError


class Row(NamedTuple):
    line: int  # 1-based line (CSV) or row number (Excel), as the office sees it
    cells: dict[str, str]


def read_rows(path: str | Path, aliases: dict[str, str]) -> tuple[list[str], list[Row]]:
    """Header (canonical names) and rows of a .csv/.xlsx; ``aliases`` maps every accepted
    header (Chinese or English) to its canonical name. Unknown headers are kept as written."""
    p = Path(path)
    if not p.exists():
        raise InputError("文件不存在", file=str(p))
    suffix = p.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        raw = list(_excel_rows(p))
    elif suffix in (".csv", ".txt"):
        raw = list(_csv_rows(p))
    else:
        raise InputError(f"不支持的文件类型 {suffix or '(无扩展名)'},请使用 .csv 或 .xlsx", file=str(p))
    if not raw:
        raise InputError("文件为空,没有表头", file=str(p))
    header = raw[0][1]
    names = [aliases.get(_norm(h), _norm(h)) for h in header]
    rows: list[Row] = []
    for line, values in raw[1:]:
        if all(not v.strip() for v in values):
            continue
        cells = {name: (values[i].strip() if i < len(values) else "") for i, name in enumerate(names) if name}
        rows.append(Row(line, cells))
    return names, rows


def _norm(header: str) -> str:
    return "".join(str(header).split()).replace("(", "(").replace(")", ")")


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise InputError("无法识别文件编码(请另存为 UTF-8)", file=str(path))
    reader = csv.reader(io.StringIO(text))
    for values in reader:
        yield reader.line_num, values


def _excel_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds; all mean "unreadable"
        raise InputError(f"无法读取 Excel 文件:{exc}", file=str(path)) from None
    try:
        ws = wb.worksheets[0]
        for number, row in enumerate(ws.iter_rows(values_only=True), start=1):
            yield number, [cell_text(v) for v in row]
    finally:
        wb.close()


def cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        # Excel keeps numbers as doubles; repr is the shortest text that reads back the same.
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def parse_decimal(text: str) -> Decimal | None:
    cleaned = text.replace(",", "").replace(",", "").strip()
    if not cleaned:
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None
