"""The registry's columns: which headers it understands and what they mean.

A header names a column by its id (``enterprise.tax_paid``, ``county``), by the Chinese
label of the field registry (``实缴税金``) or by a common alias (``税收``), optionally
with a unit in brackets: ``税收(万元)`` is 实缴税金 in 万元, ``年用电量(万千瓦时)`` is 年用电量
in 10,000 kWh, ``增长率(%)`` holds percentages written without the sign. A header the
registry does not know gets the closest known column as a suggestion.

:func:`registry_json_schema` is the versioned JSON Schema of one registry row.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from huiqi.errors import InputError
from huiqi.profile import FieldRegistry, FieldSpec, closest, default_registry, load_yaml

__all__ = [
    "REGISTRY_SCHEMA_VERSION",
    "Catalogue",
    "Header",
    "catalogue",
    "registry_json_schema",
    "registry_model",
]

REGISTRY_SCHEMA_VERSION = "1.0"
MONEY_UNITS = {"元": 1, "千元": 1000, "万元": 10_000, "万": 10_000, "百万元": 1_000_000, "千万元": 10_000_000,
               "亿元": 100_000_000, "亿": 100_000_000}
_BRACKETS = re.compile(r"^(?P<label>.+?)\s*[((\[【]\s*(?P<unit>[^()()\[\]【】]*?)\s*[))\]】]\s*$")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Column:
    """A registry column: a base column (id, name, year …) or a field of the field registry."""

    id: str
    label: str
    type: str  # text | integer | money | number | percent | boolean | enum | date
    unit: str = ""
    aliases: tuple[str, ...] = ()
    spec: FieldSpec | None = None  # fields only

    @property
    def is_base(self) -> bool:
        return self.spec is None


@dataclass(frozen=True)
class Header:
    """How one header of a file is read: the column it fills and the factor its numbers carry."""

    header: str
    column: Column
    factor: Decimal = Decimal(1)  # 万元 → 10000, 万千瓦时 → 10000, % → 0.01
    unit: str = ""  # the unit written in the header

    @property
    def id(self) -> str:
        return self.column.id


class Catalogue:
    """Every column a registry file may have, with a lookup from any accepted header."""

    def __init__(self, fields: FieldRegistry, data: dict[str, Any]) -> None:
        self.fields = fields
        self.version = str(data.get("schema_version", REGISTRY_SCHEMA_VERSION))
        self.columns: dict[str, Column] = {}
        for cid, raw in (data.get("columns") or {}).items():
            self.columns[cid] = Column(cid, str(raw["label"]), str(raw.get("type", "text")),
                                       aliases=tuple(str(a) for a in raw.get("aliases") or ()))
        aliases = {str(k): tuple(str(a) for a in v or ()) for k, v in (data.get("aliases") or {}).items()}
        for spec in fields.all():
            if spec.type == "list":
                continue
            self.columns[spec.path] = Column(spec.path, spec.label, spec.type, spec.unit,
                                             aliases.get(spec.path, ()), spec)
        self.synonyms: dict[str, str] = {str(k): str(v) for k, v in (data.get("synonyms") or {}).items()}
        self._by_name: dict[str, str] = {}
        # Later entries never override earlier ones: ids first, then labels, then aliases;
        # an enterprise field wins over a project field of the same label.
        ordered = sorted(self.columns.values(), key=lambda c: (c.id.startswith("project."), c.id))
        for c in ordered:
            self._by_name.setdefault(_norm(c.id).lower(), c.id)
        for c in ordered:
            self._by_name.setdefault(_norm(c.label), c.id)
        for c in ordered:
            for a in c.aliases:
                self._by_name.setdefault(_norm(a), c.id)
        for synonym, target in self.synonyms.items():
            self._by_name.setdefault(synonym.lower(), target)

    # -- lookup ---------------------------------------------------------------------------------

    def get(self, column_id: str) -> Column | None:
        if column_id in self.columns:
            return self.columns[column_id]
        spec = self.fields.get(column_id)  # list members: enterprise.titles.国家级企业技术中心
        if spec is not None and spec.scope != "region":
            return Column(spec.path, spec.label, spec.type, spec.unit, (), spec)
        return None

    def resolve(self, header: str) -> Header | None:
        """The column a header names, with the unit factor; None when unknown.

        Raises InputError (naming the header) when the unit does not fit the column.
        """
        text = _norm(header)
        if not text:
            return None
        direct = self._lookup(text)
        if direct is not None:
            return Header(header, direct)
        m = _BRACKETS.match(text)
        if m is None:
            return None
        column = self._lookup(m.group("label"))
        if column is None:
            return None
        unit = m.group("unit").strip()
        return Header(header, column, unit_factor(column, unit, header), unit)

    def _lookup(self, text: str) -> Column | None:
        cid = self._by_name.get(text) or self._by_name.get(text.lower())
        if cid is not None:
            return self.columns.get(cid) or self.get(cid)
        return self.get(text)

    def suggest(self, header: str) -> str | None:
        """“您是否要写 实缴税金(enterprise.tax_paid)?” for an unknown header."""
        text = _norm(header)
        m = _BRACKETS.match(text)
        base = m.group("label") if m else text
        hits = closest(base, list(self._by_name), cutoff=0.5)
        if not hits:
            hint = self.fields.suggest(base) if "." in base else None
            return hint
        column = self.columns.get(self._by_name[hits[0]]) or self.get(self._by_name[hits[0]])
        if column is None:
            return None
        return f"您是否要写 {column.label}({column.id})?"

    def labels(self) -> dict[str, str]:
        return {c.id: c.label for c in self.columns.values()}


def _norm(text: str) -> str:
    """Header text compared: no blanks, full-width brackets as half-width."""
    return _SPACES.sub("", str(text)).replace("(", "(").replace(")", ")")


def unit_factor(column: Column, unit: str, header: str) -> Decimal:
    """The factor turning a number written in ``unit`` into the column's own unit."""
    if not unit:
        return Decimal(1)
    if column.type == "money":
        if unit in MONEY_UNITS:
            return Decimal(MONEY_UNITS[unit])
    elif column.type == "percent":
        if unit in ("%", "%"):
            return Decimal("0.01")
    elif column.type in ("number", "integer"):
        own = column.unit
        if own and unit == own:
            return Decimal(1)
        if own and unit == "万" + own:
            return Decimal(10_000)
        if own == "亩" and unit == "公顷":
            return Decimal(15)
    elif column.id == "year" and unit in ("年",):
        return Decimal(1)
    expected = {"money": "元、万元、亿元", "percent": "%"}.get(column.type) or (
        f"{column.unit} 或 万{column.unit}" if column.unit else "不带单位")
    raise InputError(f"列名 {header} 的单位 {unit} 不适用于{column.label}({column.id})", field=header,
                     hint=f"可写的单位:{expected}")


_CACHE: dict[int, Catalogue] = {}


def catalogue(fields: FieldRegistry | None = None) -> Catalogue:
    """The catalogue over ``fields`` (default: data/fields.yaml) and registry/columns.yaml."""
    reg = fields or default_registry()
    hit = _CACHE.get(id(reg))
    if hit is not None and hit.fields is reg:
        return hit
    cat = Catalogue(reg, _columns_data())
    _CACHE[id(reg)] = cat
    return cat


@functools.lru_cache(maxsize=1)
def _columns_data() -> dict[str, Any]:
    path = Path(str(resources.files("huiqi").joinpath("registry", "columns.yaml")))
    data = load_yaml(path, error=InputError)
    assert isinstance(data, dict)
    return data


# -- pydantic model and JSON Schema --------------------------------------------------------------------


def _python_type(c: Column) -> Any:
    from datetime import date

    if c.type == "enum" and c.spec is not None and c.spec.values:
        return Literal[tuple(c.spec.values)]  # type: ignore[valid-type]
    return {"integer": int, "money": int, "number": Decimal, "percent": Decimal, "boolean": bool,
            "date": date}.get(c.type, str)


def registry_model(fields: FieldRegistry | None = None) -> type[BaseModel]:
    """One registry row in canonical form (field ids as column names, base units: yuan, 亩 …)."""
    cat = catalogue(fields)
    defs: dict[str, Any] = {}
    for i, c in enumerate(cat.columns.values()):
        desc = c.label + (f"(单位 {c.unit})" if c.unit and c.type != "money" else "") + \
            (",整数元" if c.type == "money" else "")
        if c.spec is not None and c.spec.description:
            desc += ":" + c.spec.description
        if c.aliases:
            desc += ";表头也可写:" + "、".join(c.aliases)
        defs[f"c{i}"] = (_python_type(c) | None, Field(None, alias=c.id, description=desc))
    model = create_model("RegistryRow", __config__=ConfigDict(extra="forbid", populate_by_name=False), **defs)
    model.__doc__ = ("企业名录的一行:一家企业的一个年度(或其一个项目)。列名可写字段 id、中文名称或别名,"
                     "括号中的单位会被换算(税收(万元));统一社会信用代码或 id 为企业标识。")
    return model


def registry_json_schema(fields: FieldRegistry | None = None) -> dict[str, Any]:
    """JSON Schema of one registry row, stamped with the registry schema version."""
    schema = registry_model(fields).model_json_schema(by_alias=True)
    version = catalogue(fields).version
    schema["$id"] = f"https://huiqi.example/schemas/registry/{version}.json"
    schema["x-schema-version"] = version
    schema["x-synonyms"] = catalogue(fields).synonyms
    return schema
