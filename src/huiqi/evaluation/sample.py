"""A deterministic synthetic population for tests and the benchmark.

Self-contained on purpose (the general ``huiqi synth`` lives elsewhere): log-normal
money and quantities, a district and industry mix, and a few percent of the bad data
real submissions contain — zero or missing land, missing tax, negative value added,
zero employees, zero emissions — so every treatment in the methodology is exercised.
The same ``seed`` always gives the same table, on every machine (``random.Random``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

from huiqi.fsutil import atomic_path

DISTRICTS = (("古城街道", 18), ("大洋街道", 16), ("江南街道", 14), ("大田街道", 12), ("邵家渡街道", 10),
             ("杜桥镇", 16), ("东塍镇", 8), ("汛桥镇", 6))
INDUSTRIES = (("医药化工", 16), ("汽摩配件", 18), ("机械装备", 20), ("时尚休闲", 14), ("电子信息", 8),
              ("新材料", 10), ("食品加工", 10), ("电力、热力、燃气及水生产和供应业", 4))
STATUSES = (("in_production", 900), ("new", 40), ("construction", 40), ("closed", 20))

SCHEMA = pa.schema([
    ("id", pa.string()),
    ("name", pa.string()),
    ("province", pa.string()),
    ("city", pa.string()),
    ("county", pa.string()),
    ("district", pa.string()),
    ("industry", pa.string()),
    ("year", pa.int32()),
    ("enterprise.scale", pa.string()),
    ("enterprise.production_status", pa.string()),
    ("enterprise.land_area_mu", pa.decimal128(12, 2)),
    ("enterprise.revenue", pa.int64()),
    ("enterprise.value_added", pa.int64()),
    ("enterprise.tax_paid", pa.int64()),
    ("enterprise.local_tax_contribution", pa.int64()),
    ("enterprise.energy_tce", pa.decimal128(18, 3)),
    ("enterprise.emission_equivalent", pa.decimal128(18, 3)),
    ("enterprise.rd_expense", pa.int64()),
    ("enterprise.employees", pa.int64()),
    ("enterprise.safety_accident", pa.bool_()),
    ("enterprise.energy_target_missed", pa.bool_()),
    ("enterprise.fixed_asset_investment_year", pa.int64()),
    ("enterprise.electricity_kwh", pa.int64()),
    ("enterprise.water_m3", pa.int64()),
])


def _pick(rng: random.Random, table: tuple[tuple[str, int], ...]) -> str:
    total = sum(w for _, w in table)
    r = rng.randrange(total)
    for value, weight in table:
        r -= weight
        if r < 0:
            return value
    return table[-1][0]  # pragma: no cover


def _lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return math.exp(math.log(median) + sigma * rng.gauss(0.0, 1.0))


def _row(rng: random.Random, index: int, year: int, region: tuple[str, str, str]) -> dict[str, object]:
    scale = "规上" if rng.random() < 0.4 else "规下"
    status = _pick(rng, STATUSES)
    revenue_median = 9e7 if scale == "规上" else 8e6
    revenue = int(_lognormal(rng, revenue_median, 0.9))
    if status == "construction" and rng.random() < 0.6:
        revenue = 0
    land = Decimal(round(_lognormal(rng, 30 if scale == "规上" else 8, 0.8), 2)).quantize(Decimal("0.01"))
    value_added: int | None = int(revenue * rng.uniform(0.15, 0.35))
    tax: int | None = int(revenue * rng.uniform(0.01, 0.06))
    energy = Decimal(round(revenue / 1e4 * _lognormal(rng, 0.04, 0.8), 3)).quantize(Decimal("0.001"))
    emission = (Decimal(0) if rng.random() < 0.3
                else Decimal(round(revenue / 1e6 * _lognormal(rng, 0.5, 1.0), 3)).quantize(Decimal("0.001")))
    rd: int | None = 0 if rng.random() < 0.2 else int(revenue * rng.uniform(0.0, 0.05))
    employees: int | None = max(1, int(_lognormal(rng, 120 if scale == "规上" else 25, 0.7)))
    fai_median = 3e7 if status in ("construction", "new") else 4e6
    fai = int(_lognormal(rng, fai_median, 1.1))
    electricity = int(float(energy) * 8130 * rng.uniform(0.5, 0.9))
    water = int(revenue / 1e4 * rng.uniform(0.5, 3.0))
    # Bad data, at rates close to what county 亩均 databases report.
    land_value: Decimal | None = land
    bad = rng.random()
    if bad < 0.01:
        land_value = Decimal("0.00")
    elif bad < 0.015:
        land_value = None
    if rng.random() < 0.01:
        tax = None
    elif rng.random() < 0.003:
        tax = -int(revenue * 0.002) - 1
    if rng.random() < 0.02 and value_added is not None:
        value_added = -abs(value_added) // 10 - 1
    elif rng.random() < 0.01:
        value_added = None
    if rng.random() < 0.02:
        rd = None
    if rng.random() < 0.01:
        employees = 0
    if rng.random() < 0.005:
        energy = Decimal("0.000")
    district = _pick(rng, DISTRICTS)
    industry = _pick(rng, INDUSTRIES)
    return {
        "id": f"E{index:07d}",
        "name": f"{district}{industry}样本企业{index:07d}",
        "province": region[0],
        "city": region[1],
        "county": region[2],
        "district": district,
        "industry": industry,
        "year": year,
        "enterprise.scale": scale,
        "enterprise.production_status": status,
        "enterprise.land_area_mu": land_value,
        "enterprise.revenue": revenue,
        "enterprise.value_added": value_added,
        "enterprise.tax_paid": tax,
        "enterprise.local_tax_contribution": int(tax * rng.uniform(0.3, 0.5)) if tax is not None and tax > 0 else tax,
        "enterprise.energy_tce": energy,
        "enterprise.emission_equivalent": emission,
        "enterprise.rd_expense": rd,
        "enterprise.employees": employees,
        "enterprise.safety_accident": rng.random() < 0.01,
        "enterprise.energy_target_missed": rng.random() < 0.02,
        "enterprise.fixed_asset_investment_year": fai,
        "enterprise.electricity_kwh": electricity,
        "enterprise.water_m3": water,
    }


def iter_batches(n: int, *, seed: int = 20240501, year: int = 2023, batch_size: int = 100_000,
                 region: tuple[str, str, str] = ("浙江省", "台州市", "临海市")) -> Iterator[pa.RecordBatch]:
    rng = random.Random(seed)
    for start in range(0, n, batch_size):
        rows = [_row(rng, i + 1, year, region) for i in range(start, min(n, start + batch_size))]
        columns = {name: [r[name] for r in rows] for name in SCHEMA.names}
        yield pa.RecordBatch.from_pydict(columns, schema=SCHEMA)


def generate(n: int, *, seed: int = 20240501, year: int = 2023,
             region: tuple[str, str, str] = ("浙江省", "台州市", "临海市")) -> pa.Table:
    """``n`` enterprises as an Arrow table with the population column layout."""
    return pa.Table.from_batches(list(iter_batches(n, seed=seed, year=year, region=region)), schema=SCHEMA)


def write_population(path: str | Path, n: int, *, seed: int = 20240501, year: int = 2023) -> Path:
    """Write a population file (.parquet or .csv) without holding it all in memory."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    target = Path(path)
    with atomic_path(target) as tmp:
        if target.suffix == ".csv":
            with pacsv.CSVWriter(str(tmp), SCHEMA) as writer:
                for batch in iter_batches(n, seed=seed, year=year):
                    writer.write_batch(batch)
        else:
            with pq.ParquetWriter(str(tmp), SCHEMA) as pwriter:
                for batch in iter_batches(n, seed=seed, year=year):
                    pwriter.write_batch(batch)
    return target
