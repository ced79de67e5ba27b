"""Engines, output writers and input readers are chosen through registries (issue 12, §5):
every registered name works, an unknown one is refused with the registry's names."""

from __future__ import annotations

import json
import zipfile
from datetime import date
from pathlib import Path

import pytest

from huiqi.engines import ENGINES as POPULATION_ENGINES
from huiqi.engines import run_population
from huiqi.engines.sources import READERS, SourceSpec, parse_source
from huiqi.engines.synthetic import synthetic_population
from huiqi.errors import HuiqiError, InputError
from huiqi.evaluation import ENGINES as EVALUATION_ENGINES
from huiqi.evaluation.result import WRITERS as EVALUATION_WRITERS
from huiqi.profile import profile_from_data
from huiqi.rules.calculator import calculate
from huiqi.rules.packs import load_packs
from huiqi.simulation.report import OUTPUT_SUFFIXES
from huiqi.simulation.report import WRITERS as SIMULATION_WRITERS
from huiqi.simulation.simulate import ENGINES as SIMULATION_ENGINES
from huiqi.simulation.simulate import run_engine
from huiqi.surfaces.calc_report import EXPORTERS, export

RB = load_packs()
ON = date(2022, 9, 1)


def test_registries_name_what_the_commands_offer() -> None:
    assert set(POPULATION_ENGINES) == {"duckdb", "spark"}
    assert {s.dialect for s in POPULATION_ENGINES.values()} == {"duckdb", "spark"}
    assert set(SIMULATION_ENGINES) == {"duckdb", "spark", "per_row"}
    assert set(EVALUATION_ENGINES) == {"duckdb", "spark", "python"}
    assert set(SIMULATION_WRITERS) == set(OUTPUT_SUFFIXES) == {".xlsx", ".parquet", ".csv"}
    assert set(EVALUATION_WRITERS) == {".parquet", ".csv", ".json", ".xlsx", ".html", ".htm"}
    assert set(READERS) == {"parquet", "csv", "duckdb", "xlsx", "sqlite"}
    assert set(EXPORTERS) == {".xlsx", ".json"}


def test_unknown_engines_are_refused_with_the_registered_names() -> None:
    table = synthetic_population(RB, 5, seed=2)
    with pytest.raises(InputError) as err:
        run_population(RB, table, ON, engine="polars")  # type: ignore[arg-type]
    assert "polars" in err.value.message and err.value.hint == "可用:duckdb、spark"
    with pytest.raises(HuiqiError) as err2:
        run_engine(RB, "unused.parquet", ON, engine="polars")
    assert "可选 duckdb、spark、per_row" in err2.value.message


def test_every_reader_kind_is_read_by_its_reader(tmp_path: Path) -> None:
    import duckdb
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    table = synthetic_population(RB, 8, seed=4)
    pq.write_table(table, tmp_path / "p.parquet")
    pcsv.write_csv(table, tmp_path / "p.csv")
    con = duckdb.connect(str(tmp_path / "p.duckdb"))
    con.register("t", table)
    con.execute("CREATE TABLE enterprises AS SELECT * FROM t")
    con.close()
    specs = [parse_source(tmp_path / "p.parquet"), parse_source(tmp_path / "p.csv"),
             parse_source(f"duckdb:{tmp_path / 'p.duckdb'}::enterprises")]
    assert [s.kind for s in specs] == ["parquet", "csv", "duckdb"]
    for spec in specs:
        assert isinstance(spec, SourceSpec)
        with run_population(RB, spec, ON) as res:
            assert res.rows == table.num_rows


def test_calc_exports_by_suffix(tmp_path: Path) -> None:
    region = {"province": "浙江省", "city": "台州市", "county": "临海市"}
    report = calculate(RB, profile_from_data({"name": "甲", "region": region, "projects": [
        {"id": "p1", "project_type": "普通技改", "equipment_investment": "300万元"}]}), ON)
    export(report, tmp_path / "r.xlsx")
    assert zipfile.is_zipfile(tmp_path / "r.xlsx")
    for name in ("r.json", "r.txt"):  # no exporter of its own: JSON
        export(report, tmp_path / name)
        assert json.loads((tmp_path / name).read_text(encoding="utf-8"))["results"]
