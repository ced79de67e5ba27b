"""Made-up but plausible example data for the governance tools (deterministic: run it again and
the CSV is byte-identical, the workbook identical cell by cell).

    PYTHONPATH=src python examples/governance/generate.py

Writes, beside this script:
- actuals.csv: monthly actuals 2022-01 … 2023-03 for the seed documents' monitored targets
  (临海 to 2023, 滨州 for 2022), shaped so the 2023-03 report shows every traffic light;
- projects.xlsx: a ledger of 50 key industrial projects in 滨州's counties, with monthly completed
  investment, including projects that the 调出 and 预警 rules should catch.
"""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from huiqi.governance.monitoring import months_between
from huiqi.governance.project_io import write_projects
from huiqi.governance.projects import FactorStatus, MonthlyInvestment, Project, ProjectLevel

HERE = Path(__file__).resolve().parent
MONTHS = months_between("2022-01", "2023-03")

# (series, region, unit, kind, start, step per month, noise, decimals); a level starts at `start`
# and moves by `step`; a flow is `start + step × month index` per month, times a seasonal factor.
# The mix is chosen so the 2023-03 report has targets in every light.
SERIES: list[tuple[str, str, str, str, float, float, float, int]] = [
    ("muju_tax", "临海市", "万元/亩", "level", 17.8, 0.12, 0.05, 2),
    ("muju_value_added", "临海市", "万元/亩", "level", 90.0, 0.40, 0.2, 1),
    ("labor_productivity", "临海市", "万元/人", "level", 22.0, 0.12, 0.05, 2),
    ("energy_intensity_drop", "临海市", "%", "level", -3.5, 0.55, 0.05, 2),  # 0 before the window
    ("manufacturing_investment_growth", "临海市", "%", "level", 11.5, 0.05, 0.6, 1),
    ("rd_intensity", "临海市", "%", "level", 2.0, 0.016, 0.005, 3),
    ("eliminated_enterprises", "临海市", "家", "flow", 45, 0.0, 6, 0),
    ("revitalised_land", "临海市", "亩", "flow", 265, 0.0, 25, 0),
    ("energy_freed", "临海市", "万吨标准煤", "flow", 0.33, 0.0, 0.04, 2),
    ("carbon_reduced", "临海市", "万吨", "flow", 1.1, -0.06, 0.02, 2),  # slowing down
    ("major_projects_landed", "临海市", "个", "flow", 0.25, 0.0, 0.0, 0),
    ("zhejiang_standards", "临海市", "项", "flow", 0.7, 0.0, 0.0, 0),
    ("pinzibiao_brands", "临海市", "家", "flow", 1.2, 0.0, 0.0, 0),
    ("new_high_tech_enterprises", "临海市", "家", "flow", 2.4, 0.05, 0.8, 0),  # an annual goal for 2023
    ("provincial_tech_upgrade_projects", "临海市", "个", "flow", 1.4, 0.0, 0.5, 0),
    ("billion_projects_landed", "临海市", "个", "flow", 0.6, 0.0, 0.3, 0),
    ("key_project_investment", "滨州市", "亿元", "flow", 35.5, 0.0, 3.0, 2),
    ("port_foreign_trade", "滨州市", "万吨", "flow", 3.1, 0.0, 0.3, 2),
    ("new_listed_enterprises", "滨州市", "家", "flow", 0.25, 0.0, 0.0, 0),
    ("upgraded_enterprises", "滨州市", "家", "flow", 15.5, 0.0, 2.0, 0),
]
SEASON = [0.7, 0.6, 1.1, 1.0, 1.0, 1.1, 0.9, 0.9, 1.0, 1.0, 1.1, 1.6]  # flows: slow spring, strong December


def actuals(rng: random.Random) -> list[list[str]]:
    rows: list[list[str]] = []
    for series, region, unit, kind, start, step, noise, decimals in SERIES:
        carry = 0.0
        for i, month in enumerate(MONTHS):
            if kind == "level":
                value = start + step * i + rng.uniform(-noise, noise)
                if series == "energy_intensity_drop":
                    value = max(0.0, value)  # a cumulative decrease counted from mid-2022
            else:
                mean = (start + step * i) * SEASON[int(month[5:]) - 1]
                value = max(0.0, mean + rng.uniform(-noise, noise))
                if decimals == 0:
                    # Small counts: carry fractions so the year adds up to the plotted rate.
                    carry += value
                    value, carry = float(int(carry)), carry - int(carry)
            rows.append([series, region, month, f"{Decimal(repr(value)):.{decimals}f}", unit])
    return rows


REGIONS = ["滨城区", "沾化区", "惠民县", "阳信县", "无棣县", "博兴县", "邹平市", "北海经济开发区"]
INDUSTRIES = ["高端化工", "有色金属", "纺织家纺", "装备制造", "新能源", "新材料", "食品加工", "医药健康"]
KINDS = ["年产{n}万吨{p}项目", "{p}智能化技术改造项目", "{p}产业园一期工程", "新建{p}生产线项目"]
PRODUCTS = ["高性能铝合金", "轻量化汽车零部件", "功能性纤维", "环保型涂料", "锂电池隔膜", "高端轴承", "生物医药中间体",
            "光伏组件", "氢能装备", "特种纸", "精细化学品", "智能农机", "预制菜", "高端面料", "再生铝"]
ENTERPRISE_SUFFIX = ["有限公司", "股份有限公司", "集团有限公司"]


def _month_start(months_before_april_2023: int) -> date:
    y, m = 2023, 4 - months_before_april_2023
    while m < 1:
        y, m = y - 1, m + 12
    return date(y, m, 1)


def projects(rng: random.Random) -> tuple[list[Project], list[MonthlyInvestment]]:
    out: list[Project] = []
    monthly: list[MonthlyInvestment] = []
    # Scenario per project: how the 调出/预警 rules should see it on 2023-03-31.
    scenarios = (["normal"] * 30 + ["unstarted"] * 4 + ["stalled"] * 3 + ["late_production"] * 2
                 + ["start_overdue"] * 4 + ["lagging"] * 5 + ["producing"] * 2)
    rng.shuffle(scenarios)
    for n, scenario in enumerate(scenarios, start=1):
        region = REGIONS[n % len(REGIONS)]
        industry = INDUSTRIES[(n * 3) % len(INDUSTRIES)]
        product = PRODUCTS[(n * 7) % len(PRODUCTS)]
        name = KINDS[n % len(KINDS)].format(n=rng.choice([5, 10, 20, 30, 50]), p=product)
        total_wan = rng.choice([5000, 8000, 12000, 20000, 35000, 50000, 80000, 120000])
        total = total_wan * 10_000
        level = ProjectLevel.PROVINCE if total_wan >= 80000 else ProjectLevel.CITY if total_wan >= 20000 \
            else ProjectLevel.COUNTY
        signed = _month_start(rng.randint(10, 20)) + timedelta(days=rng.randint(0, 20))
        start_planned = signed + timedelta(days=rng.randint(60, 120))
        started: date | None = start_planned + timedelta(days=rng.randint(-10, 40))
        production_planned = start_planned + timedelta(days=rng.randint(300, 540))
        production_on: date | None = None
        first_invest = started
        active = True
        if scenario == "unstarted":
            signed = _month_start(rng.randint(7, 11)) + timedelta(days=3)
            start_planned = signed + timedelta(days=75)
            production_planned = start_planned + timedelta(days=365)
            started = first_invest = None
        elif scenario == "start_overdue":
            signed = _month_start(5) + timedelta(days=2)
            start_planned = signed + timedelta(days=25)
            production_planned = start_planned + timedelta(days=400)
            started = first_invest = None
        elif scenario == "stalled":
            active = False
        elif scenario == "late_production":
            signed = date(2021, 3, 10)
            start_planned = date(2021, 6, 1)
            started = date(2021, 7, 15)
            production_planned = date(2022, 6, 30)
        elif scenario == "producing":
            production_on = min(production_planned, date(2023, 2, 15))
        annual_plan = (total * rng.choice([25, 30, 35, 40]) // 100) // 10_000 * 10_000
        land = Decimal(rng.choice([0, 30, 45, 60, 80, 120, 200]))
        energy = Decimal(rng.choice([0, 800, 1500, 3000, 6000, 12000]))
        land_status = FactorStatus.NONE if not land else rng.choice(
            [FactorStatus.SECURED, FactorStatus.SECURED, FactorStatus.PARTIAL, FactorStatus.PENDING])
        energy_status = FactorStatus.NONE if not energy else rng.choice(
            [FactorStatus.SECURED, FactorStatus.SECURED, FactorStatus.PENDING])
        code = f"BZ2023-{n:03d}"
        out.append(Project(
            code=code, name=name, enterprise=f"滨州{product[:2]}{rng.choice(['新', '华', '鑫', '宏', '泰'])}"
                                              f"{rng.choice(ENTERPRISE_SUFFIX)}",
            region=region, industry=industry, level=level, total_investment=total, annual_plan=annual_plan,
            plan_year=2023, signed_on=signed, start_planned=start_planned, started_on=started,
            production_planned=production_planned, production_on=production_on,
            full_production_planned=production_planned + timedelta(days=365),
            land_mu=land or None, land_status=land_status, energy_tce=energy or None, energy_status=energy_status,
            funding=(total // 5) // 10_000 * 10_000 if n % 4 == 0 else None,
            funding_status=FactorStatus.PENDING if n % 8 == 0 else FactorStatus.SECURED if n % 4 == 0
            else FactorStatus.NONE,
        ))
        if first_invest is None:
            continue
        monthly_rate = {"lagging": 0.012, "late_production": 0.004}.get(scenario, 0.035)
        for month in months_between(f"{first_invest.year:04d}-{first_invest.month:02d}", "2023-03"):
            if month < "2022-01":
                continue
            if not active and month >= "2022-09":
                break
            amount = int(total * monthly_rate * rng.uniform(0.6, 1.4)) // 10_000 * 10_000
            monthly.append(MonthlyInvestment(project_code=code, period=month, amount=amount))
    return out, monthly


def main() -> None:
    rng = random.Random(20230331)
    with (HERE / "actuals.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["指标", "地区", "期间", "数值", "单位"])
        writer.writerows(actuals(rng))
    ledger, monthly = projects(rng)
    write_projects(ledger, monthly, HERE / "projects.xlsx")
    print(f"actuals.csv: {len(SERIES) * len(MONTHS)} 行;projects.xlsx: {len(ledger)} 个项目,{len(monthly)} 条月度投资")


if __name__ == "__main__":
    main()
