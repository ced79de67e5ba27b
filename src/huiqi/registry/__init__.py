"""企业名录 — the enterprise registry: one reader and one schema for calc, simulate and evaluate.

Public API::

    from huiqi.registry import read_registry, registry_json_schema

    data = read_registry("名录.xlsx", year="latest")   # headers by id or Chinese label, units applied
    data.year, data.years                              # the year read, the years in the file
    for record in data.records():                      # typed: one per enterprise and year
        record.id, record.enterprise["tax_paid"], record.projects
    data.profiles()                                    # the same as calculator profiles

See docs/registry.md for the columns, units, the credit-code key and years.
"""

from __future__ import annotations

from huiqi.registry.api import RegistryData, RegistryRecord, load_applicants, read_registry
from huiqi.registry.credit_code import credit_code_problem, make_credit_code
from huiqi.registry.reader import ClassSource, RegistryView, open_registry, read_registry_table
from huiqi.registry.schema import REGISTRY_SCHEMA_VERSION, catalogue, registry_json_schema

__all__ = [
    "REGISTRY_SCHEMA_VERSION",
    "ClassSource",
    "RegistryData",
    "RegistryRecord",
    "RegistryView",
    "catalogue",
    "credit_code_problem",
    "load_applicants",
    "make_credit_code",
    "open_registry",
    "read_registry",
    "read_registry_table",
    "registry_json_schema",
]
