"""JSON Schema of the profile file, its enterprise/project properties taken from the registry."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from huiqi.profile.fields import TYPE_LABELS, FieldRegistry, FieldSpec, default_registry
from huiqi.profile.model import PROFILE_SCHEMA_VERSION, RegionInfo

__all__ = ["profile_json_schema", "profile_model"]



def _json_type(spec: FieldSpec) -> Any:
    if spec.type == "money":
        return int | str
    if spec.type in ("number", "percent"):
        return Decimal | str
    if spec.type == "integer":
        return int | str
    if spec.type == "boolean":
        return bool | Literal["是", "否"]
    if spec.type == "enum":
        return Literal.__getitem__(spec.values)
    if spec.type == "date":
        return date
    if spec.type == "list":
        return list[Literal.__getitem__(spec.values)] if spec.values else list[str]  # type: ignore[misc]
    return str


def _field_model(name: str, specs: Iterable[FieldSpec], extra: dict[str, Any] | None = None) -> type[BaseModel]:
    defs: dict[str, Any] = dict(extra or {})
    for spec in specs:
        description = spec.description or spec.label
        defs[spec.name] = (
            _json_type(spec) | None,
            Field(None, title=spec.label, description=f"{description}。类型:{TYPE_LABELS[spec.type]}",
                  json_schema_extra={"x-type": spec.type, "x-unit": spec.unit, "x-label": spec.label}),
        )
    return create_model(name, __config__=ConfigDict(extra="forbid"), **defs)


def profile_model(fields: FieldRegistry | None = None) -> type[BaseModel]:
    """A pydantic model of the profile FILE, its enterprise/project properties from the registry."""
    reg = fields or default_registry()
    enterprise = _field_model("EnterpriseFields", reg.enterprise.values())
    project = _field_model("ProjectFields", reg.project.values(), {
        "id": (str, Field(description="项目编号(同一画像内唯一)")),
        "name": (str | None, Field(None, description="项目名称")),
    })
    history = create_model(
        "HistoryItem", __config__=ConfigDict(extra="forbid"),
        rule=(str, Field(description="规则 id 或叠加组名")), year=(int, Field(description="获奖年份")),
        level=(str | None, Field(None, description="级别,如 国家级、省级")),
        amount=(int | str | None, Field(None, description="金额(元,可写 30万元)")),
    )
    model = create_model(
        "ProfileFile", __config__=ConfigDict(extra="forbid", title="惠企企业画像"),
        __doc__="企业画像:地区、企业字段、已获奖励、项目。字段见 data/fields.yaml。",
        schema_version=(str, Field(PROFILE_SCHEMA_VERSION)),
        name=(str, Field("", description="企业名称")),
        region=(RegionInfo, Field(default_factory=lambda: RegionInfo())),
        enterprise=(enterprise, Field(default_factory=enterprise)),
        history=(list[history], Field(default_factory=list, description="已获得的奖励(用于叠加规则)")),  # type: ignore[valid-type]
        projects=(list[project], Field(default_factory=list)),  # type: ignore[valid-type]
    )
    return model


def profile_json_schema(fields: FieldRegistry | None = None) -> dict[str, Any]:
    schema = profile_model(fields).model_json_schema()
    schema["x-schema-version"] = PROFILE_SCHEMA_VERSION
    return schema

