"""Loading rule packs: YAML → validated models → compiled, cross-checked RuleBase.

A rule pack (``src/huiqi/rulepacks/<document-id>.yaml``) is untrusted text written by
people, so everything is checked before a calculator sees it, and every error names
the file, the line, the rule id and the field with a Chinese reason:

* YAML is read with a SafeLoader subclass (``huiqi.profile.LineLoader``) only;
* the structure is validated by the pydantic models in ``huiqi.rules.model``
  (errors located by :mod:`.validation`);
* every expression (conditions, formulas, tier bands, lookup values, caps, stacking
  levels, rank/quota keys) is compiled once with ``compile_expr`` — never ``eval``
  (:mod:`.compiler`, producing the structures of :mod:`.compiled`);
* every field an expression reads must be declared in ``data/fields.yaml`` (or be a
  parameter, a region key or ``date``); enterprise rules may not read ``project.*``;
* rule ids are unique across all packs (:mod:`.loader`); parameters are date-versioned
  values (:mod:`.parameters`); :mod:`.rulebase` holds the result and the one policy
  selection.
"""

from huiqi.rules.packs.compiled import (
    CompiledAmount,
    CompiledBand,
    CompiledCap,
    CompiledCondition,
    CompiledQuota,
    CompiledRank,
    CompiledRule,
    CompiledStacking,
    LoadedLead,
    LoadedPack,
)
from huiqi.rules.packs.loader import discover_pack_files, load_packs
from huiqi.rules.packs.parameters import (
    ParamDef,
    ParameterSet,
    ParamValue,
    builtin_packs_dir,
    builtin_parameters_path,
    load_parameters,
    parse_literal,
)
from huiqi.rules.packs.rulebase import RuleBase, Selection

__all__ = [
    "CompiledAmount",
    "CompiledBand",
    "CompiledCap",
    "CompiledCondition",
    "CompiledQuota",
    "CompiledRank",
    "CompiledRule",
    "CompiledStacking",
    "LoadedLead",
    "LoadedPack",
    "ParamDef",
    "ParamValue",
    "ParameterSet",
    "RuleBase",
    "Selection",
    "builtin_packs_dir",
    "builtin_parameters_path",
    "discover_pack_files",
    "load_packs",
    "load_parameters",
    "parse_literal",
]
