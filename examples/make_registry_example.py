"""Write examples/临海企业名录示例.xlsx: a made-up registry as an office keeps it (Chinese headers, 万元).

100 made-up enterprises of 临海 × 2 years (2021, 2022) = 200 rows. Deterministic: the same
file every run (fixed seed, fixed workbook timestamps). Run from the repository root:

    python examples/make_registry_example.py
"""

from __future__ import annotations

import random
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook

from huiqi.registry.credit_code import make_credit_code

OUT = Path(__file__).with_name("临海企业名录示例.xlsx")
TOWNS = ["古城街道", "大洋街道", "江南街道", "大田街道", "邵家渡街道", "杜桥镇", "东塍镇", "汛桥镇", "上盘镇", "头门港新区"]
TRADES = ["医药化工", "汽摩配件", "机械装备", "时尚休闲", "电子信息", "新材料", "食品加工"]
BRANDS = "华鑫宏泰恒盛隆兴达昌永丰瑞祥伟新金明诚信德利通源汇嘉振宇海天成博远泽"
HEADERS = ["统一社会信用代码", "企业名称", "省", "市", "所在区县", "所在乡镇(街道)", "行业", "年度",
           "营业收入(万元)", "税收(万元)", "工业增加值(万元)", "用地面积(亩)", "综合能耗(吨标准煤)",
           "主要污染物排放当量(吨)", "研发经费支出(万元)", "年平均职工人数", "规上规下", "生产状态",
           "年用电量(万千瓦时)", "年用水量(立方米)", "“2513”培育企业", "本年完成固定资产投资额(万元)"]


def wan(yuan: float) -> Decimal:
    """An amount in 万元 with 4 decimals: whole yuan, as offices write them."""
    return (Decimal(int(yuan)) / 10000).quantize(Decimal("0.0001"))


def rows(seed: int = 2022) -> list[list[object]]:
    rng = random.Random(seed)
    out: list[list[object]] = []
    for k in range(1, 101):
        code = make_credit_code("331082", 52_000 + k * 37)
        name = f"临海市{rng.choice(BRANDS)}{rng.choice(BRANDS)}{rng.choice(TRADES)}有限公司"
        town, trade = rng.choice(TOWNS), rng.choice(TRADES)
        revenue = rng.lognormvariate(17.2, 1.0)
        land = round(revenue * rng.uniform(1e-7, 1.2e-6), 2)
        staff = max(3, int(revenue * rng.uniform(1e-6, 5e-6)))
        tax_share, va_share = rng.uniform(0.01, 0.06), rng.uniform(0.15, 0.35)
        energy_per_yuan = rng.uniform(1e-6, 1.2e-5)
        status = "in_production" if rng.random() < 0.92 else rng.choice(["new", "construction", "closed"])
        is_2513 = "是" if rng.random() < 0.08 else "否"
        for year, factor in ((2021, 1 / (1 + rng.gauss(0.06, 0.12))), (2022, 1.0)):
            r = revenue * factor
            energy = round(r * energy_per_yuan, 2)
            out.append([
                code, name, "浙江省", "台州市", "临海市", town, trade, year,
                wan(r), wan(r * tax_share), wan(r * va_share), land, energy,
                round(r * rng.uniform(1e-8, 2e-7), 3), wan(r * rng.uniform(0, 0.04)), staff,
                "规上" if r >= 20_000_000 else "规下", status,
                (Decimal(str(energy)) * Decimal("0.6")).quantize(Decimal("0.01")),  # 万千瓦时
                int(r * rng.uniform(5e-5, 3e-4)), is_2513,
                wan(rng.lognormvariate(15.5, 1.2)) if rng.random() < 0.5 else 0,
            ])
    return out


def _fix_timestamps(path: Path, when: datetime) -> None:
    """openpyxl stamps the save time into the zip and docProps/core.xml: fix both, for a stable file."""
    import re
    import zipfile

    with zipfile.ZipFile(path) as zin:
        entries = [(info, zin.read(info.filename)) for info in zin.infolist()]
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, data in entries:
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + stamp, data)
            fixed = zipfile.ZipInfo(info.filename, date_time=when.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(fixed, data)


def main() -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "企业名录"
    ws.append(HEADERS)
    for row in rows():
        ws.append([float(v) if isinstance(v, Decimal) else v for v in row])
    fixed = datetime(2023, 3, 1, 9, 0, 0)
    wb.properties.created = wb.properties.modified = fixed
    wb.properties.creator = "huiqi examples"
    wb.save(OUT)
    _fix_timestamps(OUT, fixed)
    print(f"已写入 {OUT}({len(rows())} 行)")


if __name__ == "__main__":
    main()
