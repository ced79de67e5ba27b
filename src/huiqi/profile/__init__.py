"""Enterprise profiles (企业画像) and the field registry they are checked against.

The package keeps the public names importable from ``huiqi.profile``:

* :mod:`huiqi.profile.yamlload` — YAML/JSON with line numbers, read safely and within bounds
  (shared with the rule-pack loader);
* :mod:`huiqi.profile.fields` — the field registry (``data/fields.yaml``): labels, types, ranges;
* :mod:`huiqi.profile.model` — the profile model, its loader and the rule environment;
* :mod:`huiqi.profile.schema` — the JSON Schema of a profile file;
* :mod:`huiqi.profile.cohort` — applicants of rank/quota rules from CSV/Excel.

Values are read through the one vocabulary of :mod:`huiqi.values`.
"""

from __future__ import annotations

from huiqi.profile.cohort import load_cohort
from huiqi.profile.fields import (
    FIELD_TYPES,
    FIELDS_SCHEMA_VERSION,
    REGION_KEYS,
    REGION_LABELS,
    TYPE_LABELS,
    FieldRegistry,
    FieldSpec,
    FieldType,
    Scope,
    builtin_fields_path,
    closest,
    coerce_value,
    default_registry,
    shown_value,
)
from huiqi.profile.model import (
    PROFILE_SCHEMA_VERSION,
    HistoryEntry,
    Profile,
    Project,
    RegionInfo,
    check_region_names,
    load_profile,
    profile_env,
    profile_from_data,
)
from huiqi.profile.schema import profile_json_schema, profile_model
from huiqi.profile.yamlload import (
    LineDict,
    LineList,
    LineLoader,
    line_of,
    load_json,
    load_yaml,
    read_text_limited,
)
from huiqi.values import ValueProblem, parse_money, parse_percent

# Older names, kept for callers outside this package.
parse_money_value = parse_money
parse_percent_value = parse_percent

__all__ = [
    "FIELDS_SCHEMA_VERSION",
    "FIELD_TYPES",
    "PROFILE_SCHEMA_VERSION",
    "REGION_KEYS",
    "REGION_LABELS",
    "TYPE_LABELS",
    "FieldRegistry",
    "FieldSpec",
    "FieldType",
    "HistoryEntry",
    "LineDict",
    "LineList",
    "LineLoader",
    "Profile",
    "Project",
    "RegionInfo",
    "Scope",
    "ValueProblem",
    "builtin_fields_path",
    "check_region_names",
    "closest",
    "coerce_value",
    "default_registry",
    "line_of",
    "load_cohort",
    "load_json",
    "load_profile",
    "load_yaml",
    "parse_money_value",
    "parse_percent_value",
    "profile_env",
    "profile_from_data",
    "profile_json_schema",
    "profile_model",
    "read_text_limited",
    "shown_value",
]
