"""Extra JSON-Schema entries for ``huiqi schema rules|profile|result``.

``huiqi.schemas.export_schema`` calls ``model_factory().model_json_schema()``, so each
entry is (a factory returning a pydantic model class, a factory returning the version).
The profile model is built at call time from ``data/fields.yaml`` so that the schema
documents every registered enterprise/project field with its Chinese label, type and
unit. The result model is R2's ``CalcReport``, imported only when asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.util import find_spec

from pydantic import BaseModel

SchemaEntry = tuple[Callable[[], type[BaseModel]], Callable[[], str]]


def _rules_model() -> type[BaseModel]:
    from huiqi.rules.model import RulePack

    return RulePack


def _rules_version() -> str:
    from huiqi.rules.model import RULES_SCHEMA_VERSION

    return RULES_SCHEMA_VERSION


def _profile_model() -> type[BaseModel]:
    from huiqi.profile import profile_model

    return profile_model()


def _profile_version() -> str:
    from huiqi.profile import PROFILE_SCHEMA_VERSION

    return PROFILE_SCHEMA_VERSION


def _result_model() -> type[BaseModel]:
    from huiqi.rules.result import CalcReport

    return CalcReport


def _result_version() -> str:
    from huiqi.rules import result

    return str(getattr(result, "RESULT_SCHEMA_VERSION", "1.0"))


def _cohort_model() -> type[BaseModel]:
    from huiqi.rules.cohort import CohortReport

    return CohortReport


def _cohort_version() -> str:
    from huiqi.rules.cohort import COHORT_SCHEMA_VERSION

    return COHORT_SCHEMA_VERSION


def extra_schemas() -> dict[str, SchemaEntry]:
    entries: dict[str, SchemaEntry] = {
        "rules": (_rules_model, _rules_version),
        "profile": (_profile_model, _profile_version),
    }
    if find_spec("huiqi.rules.result") is not None:
        entries["result"] = (_result_model, _result_version)
        entries["cohort"] = (_cohort_model, _cohort_version)
    return entries
