"""The five representative measures as an OpenFisca model (benchmark peer; openfisca-core is not a
runtime dependency of Huiqi — ``pip install openfisca-core``).

Same measures and semantics as bench/peers/handwritten.sql and Huiqi's rules:
临海 二/十 (three rules), 临海 二/十一 (two), 滨州 五/18, 滨州 三/8, 十堰 三/三/1/—2 (two).

Modelling choices, written the way an OpenFisca author would:

* one person entity ``enterprise`` whose members are the population rows (an enterprise with
  several projects has several rows; enterprise rules are decided on its first row);
* money is int64 yuan (``MoneyVariable`` overrides OpenFisca's int32 ``int`` type); decimals
  (percent, areas) are int64 micro-units, so every comparison and amount is exact integer
  arithmetic with half-up rounding to the yuan — no float for money;
* OpenFisca has no "unknown": each input comes with a ``<name>_known`` flag and conditions are
  evaluated in three-valued logic (0 = false, 1 = true, 2 = unknown) — the cannot-decide
  status the rules report;
* rates, caps and thresholds are OpenFisca parameters (``parameters(period)``);
* cross-row steps (同一项目就高, enterprise-year caps in project order, county quota ranking) are
  vectorised numpy over the whole population inside the formulas.

Output per rule: ``<rule>__status`` (codes below) and ``<rule>__amount`` (int64 yuan, 0 unless granted).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from openfisca_core.entities import build_entity
from openfisca_core.parameters import ParameterNode
from openfisca_core.periods import DateUnit
from openfisca_core.simulations import SimulationBuilder
from openfisca_core.taxbenefitsystems import TaxBenefitSystem
from openfisca_core.variables import Variable

NOT_ELIGIBLE, GRANTED, UNDECIDED, OUT_OF_JURISDICTION, STACKED_OUT = 0, 1, 2, 3, 4
STATUS = {NOT_ELIGIBLE: "not_eligible", GRANTED: "granted", UNDECIDED: "undecided",
          OUT_OF_JURISDICTION: "out_of_jurisdiction", STACKED_OUT: "stacked_out"}
F, T, U = 0, 1, 2  # three-valued logic
MICRO = 1_000_000

RULES = ["linhai.tech_upgrade.major", "linhai.tech_upgrade.ordinary", "linhai.tech_upgrade.key_2513",
         "linhai.vertical.ab_class", "linhai.vertical.floors", "binzhou.ipo.listing", "binzhou.dcmm",
         "shiyan.tech_upgrade.smart", "shiyan.tech_upgrade.smart_county"]

Enterprise = build_entity(key="enterprise", plural="enterprises", label="企业(人口中的一行:企业或其一个项目)",
                          is_person=True)

# Inputs: (name, kind) — kind: money (int64 yuan), micro (int64 millionths), bool, str
INPUTS: dict[str, str] = {
    "province": "str", "city": "str", "county": "str", "district": "str", "name": "str", "project_id": "str",
    "ent_index": "int64", "first_row": "bool", "has_project": "bool",
    "project.project_type": "str", "project.investment": "money", "project.equipment_investment": "money",
    "enterprise.is_2513": "bool", "enterprise.local_contribution_growth": "micro",
    "enterprise.industrial_equipment_investment": "money", "project.key_industrial_project": "bool",
    "project.plot_ratio_increase": "micro", "project.zero_land_area_share": "micro",
    "project.self_owned_used": "bool", "enterprise.muju_class": "str", "project.vertical_excess_area": "micro",
    "project.floors": "int64", "project.new_factory_area": "micro",
    "enterprise.listed": "bool", "enterprise.ipo_financing": "money",
    "enterprise.dcmm_level": "str", "enterprise.dcmm_first_application": "bool",
    "enterprise.dcmm_assessment_fee": "money",
    "project.fixed_asset_investment": "money", "project.within_construction_period": "bool",
    "project.equipment_in_use": "bool", "project.case_by_case_supported": "bool",
    "project.smart_equipment_investment": "money",
}


def var_name(column: str) -> str:
    return column.replace(".", "__")


class MoneyVariable(Variable):
    """int64 yuan: OpenFisca's ``int`` is int32, too small for 亿元 amounts."""

    def __init__(self, baseline_variable: Any = None) -> None:
        super().__init__(baseline_variable)
        self.dtype = np.int64
        self.default_value = 0


def _input_variable(column: str, kind: str) -> list[type[Variable]]:
    base: dict[str, Any] = {"entity": Enterprise, "definition_period": DateUnit.YEAR, "label": column}
    cls: type[Variable]
    if kind in ("money", "micro", "int64"):
        cls = type(var_name(column), (MoneyVariable,), {**base, "value_type": int})
    elif kind == "bool":
        cls = type(var_name(column), (Variable,), {**base, "value_type": bool})
    else:
        cls = type(var_name(column), (Variable,), {**base, "value_type": str})
    known = type(var_name(column) + "_known", (Variable,), {**base, "value_type": bool, "default_value": True})
    return [cls, known]


# -- three-valued helpers (numpy int8 arrays) --------------------------------------------------------


def tri(value: np.ndarray, known: np.ndarray) -> np.ndarray:
    return np.where(known, value.astype(np.int8), U).astype(np.int8)


def all3(*conds: np.ndarray) -> np.ndarray:
    out = np.full(conds[0].shape, T, dtype=np.int8)
    anyf = np.zeros(conds[0].shape, dtype=bool)
    anyu = np.zeros(conds[0].shape, dtype=bool)
    for c in conds:
        anyf |= c == F
        anyu |= c == U
    out[anyu] = U
    out[anyf] = F
    return out


def any3(*conds: np.ndarray) -> np.ndarray:
    out = np.full(conds[0].shape, F, dtype=np.int8)
    anyt = np.zeros(conds[0].shape, dtype=bool)
    anyu = np.zeros(conds[0].shape, dtype=bool)
    for c in conds:
        anyt |= c == T
        anyu |= c == U
    out[anyu] = U
    out[anyt] = T
    return out


def cmp(x: np.ndarray, known: np.ndarray, op: str, c: int) -> np.ndarray:
    ops = {">=": np.greater_equal, ">": np.greater, "<=": np.less_equal, "<": np.less, "==": np.equal}
    return tri(ops[op](x, c), known)


def round_div(num: np.ndarray, den: int) -> np.ndarray:
    """Half-up integer division for non-negative numerators (amounts)."""
    return (num + den // 2) // den


def status_of(here: np.ndarray, cond: np.ndarray, amount: np.ndarray, amount_known: np.ndarray,
              extra_not_eligible: np.ndarray | None = None) -> np.ndarray:
    """Rule status: jurisdiction, then false condition / zero amount, then unknowns, else granted."""
    st = np.full(cond.shape, GRANTED, dtype=np.int8)
    undecided = (here == U) | (cond == U) | ~amount_known
    st[undecided] = UNDECIDED
    ne = (cond == F) | (amount_known & (amount <= 0))
    if extra_not_eligible is not None:
        ne |= extra_not_eligible
    st[ne] = NOT_ELIGIBLE
    st[here == F] = OUT_OF_JURISDICTION
    return st


def cum_in_group(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Running sum of ``values`` within each group, in row order (rows of a group may be apart)."""
    order = np.argsort(group, kind="stable")
    v = values[order]
    g = group[order]
    cs = np.cumsum(v)
    starts = np.r_[True, g[1:] != g[:-1]] if len(g) else np.zeros(0, bool)
    start_idx = np.maximum.accumulate(np.where(starts, np.arange(len(v)), 0)) if len(v) else np.zeros(0, np.int64)
    before_group = (cs - v)[start_idx]
    out = np.empty_like(values)
    out[order] = cs - before_group
    return out


def sum_in_group(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    totals = np.zeros(int(group.max()) + 1 if group.size else 0, dtype=np.int64)
    np.add.at(totals, group, values.astype(np.int64))
    return totals[group]


def capped_share(amount: np.ndarray, running: np.ndarray, cap: int) -> np.ndarray:
    """Cumulative cap in order: min(running, cap) − min(running − amount, cap)."""
    return np.minimum(running, cap) - np.minimum(running - amount, cap)


# -- the model -----------------------------------------------------------------------------------------


def _v(sim_entity: Any, period: Any, column: str) -> tuple[np.ndarray, np.ndarray]:
    return sim_entity(var_name(column), period), sim_entity(var_name(column) + "_known", period)


def _place(e: Any, period: Any, province: str, city: str, county: str | None = None) -> np.ndarray:
    conds = []
    for col, want in (("province", province), ("city", city), ("county", county)):
        if want is None:
            continue
        v, k = _v(e, period, col)
        conds.append(tri(v == want, k))
    return all3(*conds)


def _linhai_tech(e: Any, period: Any, parameters: Any) -> dict[str, np.ndarray]:
    p = parameters(period).linhai
    here = all3(_place(e, period, "浙江省", "台州市", "临海市"), tri(e("has_project", period), np.ones(1, bool)))
    ptype, kt = _v(e, period, "project.project_type")
    inv, ki = _v(e, period, "project.investment")
    eq, ke = _v(e, period, "project.equipment_investment")
    c1 = all3(tri(ptype == "重大传统产业改造提升", kt), cmp(inv, ki, ">=", p.major_investment),
              cmp(eq, ke, ">=", p.major_equipment))
    a1 = np.minimum(round_div(eq * 10, 100), p.major_cap)
    c2 = all3(tri(np.isin(ptype, ["普通技改", "重大传统产业改造提升"]), kt), cmp(eq, ke, ">=", p.ordinary_equipment))
    a2 = round_div(eq * 5, 100)
    is2513, k2513 = _v(e, period, "enterprise.is_2513")
    growth, kg = _v(e, period, "enterprise.local_contribution_growth")
    iei, kiei = _v(e, period, "enterprise.industrial_equipment_investment")
    kip, kkip = _v(e, period, "project.key_industrial_project")
    c3 = all3(tri(is2513, k2513), cmp(growth, kg, ">=", int(p.key_growth * MICRO)), cmp(iei, kiei, ">=", p.key_equipment),
              tri(kip, kkip))
    a3 = round_div(eq * 15, 100)
    s1, s2, s3 = status_of(here, c1, a1, ke), status_of(here, c2, a2, ke), status_of(here, c3, a3, ke)
    g1, g2, g3 = s1 == GRANTED, s2 == GRANTED, s3 == GRANTED
    w1 = g1 & (~g2 | (a1 >= a2)) & (~g3 | (a1 >= a3))
    w2 = ~w1 & g2 & (~g3 | (a2 >= a3))
    w3 = ~w1 & ~w2 & g3
    ent = e("ent_index", period)
    run2 = cum_in_group(np.where(w2, a2, 0), ent)
    final2 = np.where(w2, capped_share(a2, run2, p.ordinary_cap), 0)
    out: dict[str, np.ndarray] = {}
    out["linhai.tech_upgrade.major"] = (np.where(g1 & ~w1, STACKED_OUT, s1), np.where(w1, a1, 0))
    out["linhai.tech_upgrade.ordinary"] = (np.where(g2 & (~w2 | (final2 <= 0)), STACKED_OUT, s2),
                                           np.where(w2 & (final2 > 0), final2, 0))
    out["linhai.tech_upgrade.key_2513"] = (np.where(g3 & ~w3, STACKED_OUT, s3), np.where(w3, a3, 0))
    return out


def _linhai_vertical(e: Any, period: Any, parameters: Any) -> dict[str, np.ndarray]:
    p = parameters(period).linhai
    here = all3(_place(e, period, "浙江省", "台州市", "临海市"), tri(e("has_project", period), np.ones(1, bool)))
    pri, kpri = _v(e, period, "project.plot_ratio_increase")
    zls, kzls = _v(e, period, "project.zero_land_area_share")
    own, kown = _v(e, period, "project.self_owned_used")
    muju, kmuju = _v(e, period, "enterprise.muju_class")
    area, karea = _v(e, period, "project.vertical_excess_area")
    floors, kfl = _v(e, period, "project.floors")
    new_area, kna = _v(e, period, "project.new_factory_area")
    limit = int(p.vertical_share * MICRO)
    c1 = all3(any3(cmp(pri, kpri, ">", limit), cmp(zls, kzls, ">", limit)), tri(own, kown),
              tri(np.isin(muju, ["A", "B"]), kmuju))
    rate1 = np.where(muju == "A", p.vertical_a, np.where(muju == "B", p.vertical_b, 0))
    a1 = np.minimum(round_div(area * rate1, MICRO), p.vertical_cap)
    a1_known = kmuju & karea
    out_of_table = kmuju & ~np.isin(muju, ["A", "B"])
    s1 = status_of(here, c1, a1, a1_known, out_of_table)
    c2 = all3(cmp(pri, kpri, "<=", limit), cmp(zls, kzls, "<=", limit), tri(own, kown), cmp(floors, kfl, ">=", 4))
    rate2 = np.select([floors >= 6, floors >= 5, floors >= 4], [p.floors_6, p.floors_5, p.floors_4], 0)
    a2 = np.minimum(round_div(new_area * rate2, MICRO), p.vertical_cap)
    s2 = status_of(here, c2, a2, kfl & kna, kfl & (floors < 4))
    g1, g2 = s1 == GRANTED, s2 == GRANTED
    lose1 = g1 & g2 & (a2 > a1)
    lose2 = g1 & g2 & (a1 >= a2)
    return {"linhai.vertical.ab_class": (np.where(lose1, STACKED_OUT, s1), np.where(g1 & ~lose1, a1, 0)),
            "linhai.vertical.floors": (np.where(lose2, STACKED_OUT, s2), np.where(g2 & ~lose2, a2, 0))}


def _binzhou(e: Any, period: Any, parameters: Any) -> dict[str, np.ndarray]:
    p = parameters(period).binzhou
    first = e("first_row", period)
    here = all3(_place(e, period, "山东省", "滨州市"))
    here = np.where(first, here, F)  # enterprise rules: decided once, on the enterprise's first row
    listed, kl = _v(e, period, "enterprise.listed")
    fin, kf = _v(e, period, "enterprise.ipo_financing")
    a1 = np.select([fin >= p.ipo_band_2, fin >= p.ipo_band_1], [p.ipo_award_3, p.ipo_award_2], p.ipo_award_1)
    s1 = status_of(here, tri(listed, kl), a1, kf)
    level, klev = _v(e, period, "enterprise.dcmm_level")
    firstapp, kfa = _v(e, period, "enterprise.dcmm_first_application")
    fee, kfee = _v(e, period, "enterprise.dcmm_assessment_fee")
    c2 = all3(tri(np.isin(level, ["二级", "三级", "四级", "五级"]), klev), tri(firstapp, kfa))
    a2 = np.minimum(round_div(fee * 30, 100), p.dcmm_cap)
    s2 = status_of(here, c2, a2, kfee)
    return {"binzhou.ipo.listing": (s1, np.where(s1 == GRANTED, a1, 0)),
            "binzhou.dcmm": (s2, np.where(s2 == GRANTED, a2, 0))}


def _shiyan(e: Any, period: Any, parameters: Any) -> dict[str, np.ndarray]:
    p = parameters(period).shiyan
    main = ["张湾区", "茅箭区", "十堰经济技术开发区"]
    counties = ["郧阳区", "丹江口市", "郧西县", "竹山县", "竹溪县", "房县"]
    county, kc = _v(e, period, "county")
    district, kd = _v(e, period, "district")
    base = _place(e, period, "湖北省", "十堰市")
    in_c = (kc & np.isin(county, counties)) | (kd & np.isin(district, counties))
    in_m = (kc & np.isin(county, main)) | (kd & np.isin(district, main))
    proj = e("has_project", period)
    here1 = np.where(base == F, F, np.where(in_c, F, np.where(in_m, base, np.where(~kd, U, F)))).astype(np.int8)
    here2 = np.where(base == F, F, np.where(in_c, base, np.where(~kd, U, F))).astype(np.int8)
    here1[~proj] = F
    here2[~proj] = F
    fai, kfai = _v(e, period, "project.fixed_asset_investment")
    wcp, kwcp = _v(e, period, "project.within_construction_period")
    eq, keq = _v(e, period, "project.equipment_investment")
    use, kuse = _v(e, period, "project.equipment_in_use")
    cbc, kcbc = _v(e, period, "project.case_by_case_supported")
    smart, ksm = _v(e, period, "project.smart_equipment_investment")
    c = all3(cmp(fai, kfai, ">=", p.min_fixed_asset), tri(wcp, kwcp), cmp(eq, keq, ">=", p.min_equipment),
             tri(use, kuse), tri(~(cbc & kcbc), np.ones(1, bool)))
    rate = round(p.base_rate * MICRO)  # 4.35% → 43500 millionths
    # (smart + (eq − smart) × 50%) × rate = (smart + eq) × rate / 2, exact in integers
    a = round_div((smart + eq) * rate, 2 * MICRO)
    ka = keq & ksm
    s1 = status_of(here1, c, a, ka)
    # 县市名额: among rows meeting every condition, per county, largest equipment investment first,
    # ties by enterprise name then project id; the first ``quota`` keep the award.
    s2 = status_of(here2, c, a, ka)
    cand = (here2 == T) & (c == T) & keq & kc
    place = np.zeros(len(eq), dtype=np.int64)
    idx = np.nonzero(cand)[0]
    if idx.size:
        names = e("name", period)[idx].astype(str)
        pids = e("project_id", period)[idx].astype(str)
        cty_all = county[idx].astype(str)
        order = np.lexsort((pids, names, -eq[idx], cty_all))
        sorted_idx = idx[order]
        cty = cty_all[order]
        starts = np.r_[True, cty[1:] != cty[:-1]]
        start_pos = np.maximum.accumulate(np.where(starts, np.arange(len(cty)), 0))
        place[sorted_idx] = np.arange(len(cty)) - start_pos + 1
    quota_undecided = (s2 == GRANTED) & (~keq | ~kc)
    s2 = np.where(quota_undecided, UNDECIDED, s2)
    s2 = np.where((s2 == GRANTED) & (place > p.county_quota), NOT_ELIGIBLE, s2).astype(np.int8)
    ent = e("ent_index", period)
    g1, g2 = s1 == GRANTED, s2 == GRANTED
    run1 = cum_in_group(np.where(g1, a, 0), ent)
    tot1 = sum_in_group(np.where(g1, a, 0), ent)
    run2 = tot1 + cum_in_group(np.where(g2, a, 0), ent)
    f1 = np.where(g1, capped_share(a, run1, p.enterprise_year_cap), 0)
    f2 = np.where(g2, capped_share(a, run2, p.enterprise_year_cap), 0)
    return {"shiyan.tech_upgrade.smart": (np.where(g1 & (f1 <= 0), STACKED_OUT, s1), np.where(f1 > 0, f1, 0)),
            "shiyan.tech_upgrade.smart_county": (np.where(g2 & (f2 <= 0), STACKED_OUT, s2), np.where(f2 > 0, f2, 0))}


GROUPS = {"linhai_tech": _linhai_tech, "linhai_vertical": _linhai_vertical, "binzhou": _binzhou, "shiyan": _shiyan}
GROUP_RULES = {
    "linhai_tech": RULES[0:3], "linhai_vertical": RULES[3:5], "binzhou": RULES[5:7], "shiyan": RULES[7:9],
}


def _output_variables() -> list[type[Variable]]:
    """One status and one amount variable per rule; each group of rules is computed once per period."""
    out: list[type[Variable]] = []
    for group, fn in GROUPS.items():
        for rule in GROUP_RULES[group]:
            def f_status(e: Any, period: Any, parameters: Any, fn: Any = fn, rule: str = rule) -> np.ndarray:
                return _cached(e, period, parameters, fn)[rule][0]

            def f_amount(e: Any, period: Any, parameters: Any, fn: Any = fn, rule: str = rule) -> np.ndarray:
                return _cached(e, period, parameters, fn)[rule][1]

            base = {"entity": Enterprise, "definition_period": DateUnit.YEAR}
            out.append(type(var_name(rule) + "__status", (Variable,),
                            {**base, "value_type": int, "label": f"{rule} 状态", "formula": f_status}))
            out.append(type(var_name(rule) + "__amount", (MoneyVariable,),
                            {**base, "value_type": int, "label": f"{rule} 金额(元)", "formula": f_amount}))
    return out


_CACHE: dict[tuple[int, str, Any], dict[str, Any]] = {}


def _cached(e: Any, period: Any, parameters: Any, fn: Any) -> dict[str, Any]:
    # Rules sharing a stacking group or cap are decided together (one pass per group and period).
    key = (id(e), fn.__name__, str(period))
    if key not in _CACHE:
        _CACHE[key] = fn(e, period, parameters)
    return _CACHE[key]


PARAMETERS = {
    "linhai": {
        "major_investment": 10_000_000, "major_equipment": 5_000_000, "major_cap": 3_000_000,
        "ordinary_equipment": 2_000_000, "ordinary_cap": 2_000_000, "key_growth": 0.12, "key_equipment": 5_000_000,
        "vertical_share": 0.2, "vertical_a": 60, "vertical_b": 50, "floors_4": 30, "floors_5": 40, "floors_6": 50,
        "vertical_cap": 1_000_000,
    },
    "binzhou": {"ipo_band_1": 1_000_000_000, "ipo_band_2": 2_000_000_000, "ipo_award_1": 2_000_000,
                "ipo_award_2": 7_000_000, "ipo_award_3": 12_000_000, "dcmm_cap": 100_000},
    "shiyan": {"min_fixed_asset": 10_000_000, "min_equipment": 2_000_000, "base_rate": 0.0435,
               "enterprise_year_cap": 500_000, "county_quota": 2},
}


def _parameter_tree() -> ParameterNode:
    data: dict[str, Any] = {}
    for group, values in PARAMETERS.items():
        data[group] = {k: {"values": {"2018-01-01": v}} for k, v in values.items()}
    return ParameterNode("", data=data)


class FiveMeasures(TaxBenefitSystem):
    def __init__(self) -> None:
        super().__init__([Enterprise])
        self.parameters = _parameter_tree()
        for column, kind in INPUTS.items():
            for cls in _input_variable(column, kind):
                self.add_variable(cls)
        for cls in _output_variables():
            self.add_variable(cls)


# -- data → simulation ---------------------------------------------------------------------------------


def load_arrays(path: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Population Parquet → {column: (values, known)} in the model's units (money int64, decimals ×10^6)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    cols = [c for c in INPUTS if c not in ("ent_index", "first_row", "has_project")]
    schema = pq.read_schema(path)
    present = [c for c in cols if c in schema.names]
    table = pq.read_table(path, columns=present)
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    n = table.num_rows
    for col in cols:
        kind = INPUTS[col]
        if col not in present:
            empty = np.zeros(n, dtype=object if kind == "str" else np.int64 if kind != "bool" else bool)
            out[col] = (empty, np.zeros(n, dtype=bool))
            continue
        arr = table.column(col).combine_chunks()
        known = ~np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        if kind == "str":
            values = np.asarray(arr.fill_null("").to_numpy(zero_copy_only=False), dtype=object)
        elif kind == "bool":
            values = np.asarray(arr.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
        elif kind == "micro":
            import pyarrow as pa

            # decimal(·, 6): the unscaled 128-bit integer is the value in millionths (low word suffices)
            dec = pc.fill_null(arr.cast(pa.decimal128(20, 6)), pa.scalar(0, pa.decimal128(20, 6)))
            words = np.frombuffer(dec.buffers()[1], dtype=np.int64)[2 * dec.offset: 2 * (dec.offset + len(dec))]
            values = words[0::2].copy()
        else:
            values = np.asarray(arr.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)
        out[col] = (values, known)
    ids = np.asarray(pq.read_table(path, columns=["id"]).column("id").to_numpy(), dtype=object)
    _, first_pos, inverse = np.unique(ids, return_index=True, return_inverse=True)
    first_row = np.zeros(n, dtype=bool)
    first_row[first_pos] = True
    out["ent_index"] = (inverse.astype(np.int64), np.ones(n, bool))
    out["first_row"] = (first_row, np.ones(n, bool))
    out["has_project"] = (out["project_id"][1].copy(), np.ones(n, bool))
    out["id"] = (ids, np.ones(n, bool))
    return out


def simulate(tbs: FiveMeasures, arrays: dict[str, tuple[np.ndarray, np.ndarray]], year: int = 2022
             ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Set inputs, calculate every rule's status and amount (vectorised over the whole population)."""
    n = len(arrays["ent_index"][0])
    sim = SimulationBuilder().build_default_simulation(tbs, n)
    period = str(year)
    for column in INPUTS:
        values, known = arrays[column]
        sim.set_input(var_name(column), period, values)
        sim.set_input(var_name(column) + "_known", period, known)
    _CACHE.clear()
    out = {}
    for rule in RULES:
        out[rule] = (sim.calculate(var_name(rule) + "__status", period),
                     sim.calculate(var_name(rule) + "__amount", period))
    _CACHE.clear()
    return out
