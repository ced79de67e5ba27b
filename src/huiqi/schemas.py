"""JSON Schema export for every public structure, each stamped with its version."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from huiqi.errors import HuiqiError


def _registry() -> dict[str, tuple[Callable[[], type[BaseModel]], Callable[[], str]]]:
    def document() -> type[BaseModel]:
        from huiqi.document import Document

        return Document

    def document_version() -> str:
        from huiqi.document import DOCUMENT_SCHEMA_VERSION

        return DOCUMENT_SCHEMA_VERSION

    def registry() -> type[BaseModel]:
        from huiqi.registry.schema import registry_model

        return registry_model()

    def registry_version() -> str:
        from huiqi.registry.schema import catalogue

        return catalogue().version

    entries: dict[str, tuple[Callable[[], type[BaseModel]], Callable[[], str]]] = {
        "document": (document, document_version),
        "registry": (registry, registry_version),
    }
    try:
        from huiqi.rules.schema_registry import extra_schemas

        entries.update(extra_schemas())
    except ImportError:
        pass
    return entries


def export_schema(name: str) -> dict[str, Any]:
    registry = _registry()
    if name not in registry:
        known = "、".join(sorted(registry))
        raise HuiqiError(f"未知的结构名称 {name},可选:{known}", field="name")
    model_factory, version = registry[name]
    schema = model_factory().model_json_schema()
    schema["$id"] = f"https://huiqi.example/schemas/{name}/{version()}.json"
    schema["x-schema-version"] = version()
    return schema
