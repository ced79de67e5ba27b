"""Issue 13 regressions: bad input gets a clear Chinese error, outputs never replace inputs,
interruptions leave nothing behind. Each test runs the CLI the way a user does."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from huiqi.errors import InputError, ProfileError, RuleError
from huiqi.fsutil import atomic_path, check_outputs, sweep_stale
from huiqi.profile import load_profile, load_yaml

HUIQI = [sys.executable, "-m", "huiqi.cli.main"]
ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "linhai-machinery.yaml"
# Subprocesses run in other directories: this checkout's sources first, whatever the venv points at.
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH")) if p)}


def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    full_env = {**ENV, **(env or {})}
    return subprocess.run([*HUIQI, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout, env=full_env)


def clean_error(proc: subprocess.CompletedProcess[str], code: int = 2) -> str:
    """The process failed with ``code``, a Chinese message and no Python internals."""
    text = proc.stdout + proc.stderr
    assert proc.returncode == code, text
    assert "Traceback" not in text, text
    for internal in ("Error:", "Exception", "errno", "pyo3"):
        assert internal not in text, text
    return text


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("pop")
    proc = run("synth", "--city", "十堰", "--n", "150", "--seed", "3", "--out", str(d / "pop.parquet"))
    assert proc.returncode == 0, proc.stderr
    return d / "pop.parquet"


# -- never destroy data ----------------------------------------------------------------------------


def test_simulate_out_equal_to_input_refused(population: Path, tmp_path: Path) -> None:
    pop = tmp_path / "pop.parquet"
    pop.write_bytes(population.read_bytes())
    before = pop.read_bytes()
    text = clean_error(run("simulate", str(pop), "--date", "2019-06-01", "--out", str(pop)))
    assert "覆盖输入" in text and pop.read_bytes() == before
    # the same file spelt differently, through a symlink
    link = tmp_path / "link.parquet"
    link.symlink_to(pop)
    text = clean_error(run("simulate", str(pop), "--date", "2019-06-01", "--out", str(link)))
    assert "覆盖输入" in text and pop.read_bytes() == before


def test_simulate_sibling_table_clash_refused(population: Path, tmp_path: Path) -> None:
    text = clean_error(run("simulate", str(population), "--date", "2019-06-01", "--out", str(tmp_path / "a.parquet"),
                           "--out", str(tmp_path / "a.details.parquet")))
    assert "另一个输出" in text
    assert not list(tmp_path.iterdir())


def test_evaluate_out_equal_to_input_and_store_file(tmp_path: Path) -> None:
    from huiqi.evaluation.sample import write_population

    pop = write_population(tmp_path / "ev.csv", 60, seed=2)
    before = pop.read_bytes()
    text = clean_error(run("evaluate", str(pop), "--year", "2023", "--out", str(pop), "--no-store"))
    assert "覆盖输入" in text and pop.read_bytes() == before
    (tmp_path / "storefile").write_text("x")
    text = clean_error(run("evaluate", str(pop), "--year", "2023", "--store", str(tmp_path / "storefile")))
    assert "--store 应为目录" in text
    text = clean_error(run("evaluate", str(pop), "--year", "2023", "--no-store", "--charts", str(tmp_path / "storefile")))
    assert "--charts 应为目录" in text
    # the stored result would replace the population it was computed from
    store = tmp_path / "store"
    store.mkdir()
    inside = store / "zhejiang-county-2023.csv"
    inside.write_bytes(before)
    text = clean_error(run("evaluate", str(inside), "--year", "2023", "--store", str(store), "--out", str(inside)))
    assert "覆盖输入" in text


def test_calc_out_equal_to_profile_refused(tmp_path: Path) -> None:
    prof = tmp_path / "p.yaml"
    prof.write_text(EXAMPLE.read_text("utf-8"), encoding="utf-8")
    text = clean_error(run("calc", str(prof), "--date", "2022-09-01", "--format", "json", "--out", str(prof)))
    assert "覆盖输入" in text and prof.read_text("utf-8") == EXAMPLE.read_text("utf-8")


def test_directory_and_read_only_outputs(population: Path, tmp_path: Path) -> None:
    (tmp_path / "x.xlsx").mkdir()
    text = clean_error(run("simulate", str(population), "--date", "2019-06-01", "--out", str(tmp_path / "x.xlsx")))
    assert "是一个目录" in text
    with pytest.raises(InputError, match="是一个目录"):
        with atomic_path(tmp_path / "x.xlsx"):
            pass
    if os.geteuid() != 0:  # root writes anywhere
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        text = clean_error(run("simulate", str(population), "--date", "2019-06-01", "--out", str(ro / "r.xlsx")))
        assert "不可写" in text


def test_check_outputs_spellings(tmp_path: Path) -> None:
    a = tmp_path / "a.csv"
    a.write_text("id\n1\n")
    with pytest.raises(InputError, match="覆盖输入"):
        check_outputs([tmp_path / "sub" / ".." / "a.csv"], [a])
    with pytest.raises(InputError, match="另一个输出"):
        check_outputs([tmp_path / "b.csv", tmp_path / "." / "b.csv"])
    check_outputs([tmp_path / "c.csv"], [a])  # a new file next to the input is fine


# -- temporary files ---------------------------------------------------------------------------------


def test_stale_temp_files_of_dead_processes_are_swept(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".r.xlsx.huiqi-{dead.pid}-abc123.tmp"
    stale.write_text("half")
    alive = tmp_path / f".r.xlsx.huiqi-{os.getpid()}-abc123.tmp"
    alive.write_text("mine, still writing")
    foreign = tmp_path / ".r.xlsx.someone-else.tmp"
    foreign.write_text("not ours")
    stale_dir = tmp_path / f"huiqi-sim-{dead.pid}-xyz"
    stale_dir.mkdir()
    removed = sweep_stale(tmp_path)
    assert set(removed) == {stale, stale_dir}
    assert alive.exists() and foreign.exists()


def test_failed_write_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


# -- resource exhaustion -----------------------------------------------------------------------------


BOMB = """\
a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
name: *g
"""


def test_alias_bomb_refused_quickly(tmp_path: Path) -> None:
    prof = tmp_path / "bomb.yaml"
    prof.write_text(BOMB, encoding="utf-8")
    with pytest.raises(ProfileError, match="别名"):
        load_profile(prof)
    text = clean_error(run("calc", str(prof), "--date", "2022-09-01", "--format", "json", "--out",
                           str(tmp_path / "r.json"), timeout=60))
    assert "别名" in text and not (tmp_path / "r.json").exists()


def test_deep_nesting_refused(tmp_path: Path) -> None:
    for name, text in (("deep.yaml", "name: " + "[" * 100_000), ("deep.json", "[" * 100_000 + "]" * 100_000)):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ProfileError, match="嵌套"):
            load_profile(path)
    pack = tmp_path / "pack.yaml"
    pack.write_text("rules: " + "[" * 5000, encoding="utf-8")
    with pytest.raises(RuleError, match="嵌套"):
        load_yaml(pack)


def test_profile_project_limit(tmp_path: Path) -> None:
    prof = tmp_path / "many.json"
    projects = ",".join(f'{{"id": "p{i}"}}' for i in range(50))
    prof.write_text(f'{{"name": "甲", "projects": [{projects}]}}', encoding="utf-8")
    text = clean_error(run("calc", str(prof), "--date", "2022-09-01", env={"HUIQI_MAX_PROFILE_PROJECTS": "20"}))
    assert "项目过多" in text and "HUIQI_MAX_PROFILE_PROJECTS" in text


def test_profile_size_limit(tmp_path: Path) -> None:
    prof = tmp_path / "big.yaml"
    prof.write_text("name: 甲\n" + "# 填充\n" * 2000, encoding="utf-8")
    text = clean_error(run("calc", str(prof), "--date", "2022-09-01", env={"HUIQI_MAX_YAML_BYTES": "1000"}))
    assert "文件过大" in text


def test_document_size_limit(tmp_path: Path) -> None:
    doc = tmp_path / "big.txt"
    doc.write_text("关于支持企业发展的若干措施\n" * 1000, encoding="utf-8")
    proc = run("ingest", str(doc), "--no-db", env={"HUIQI_MAX_DOCUMENT_BYTES": "10000"})
    text = clean_error(proc, code=1)
    assert "文件过大" in text and "HUIQI_MAX_DOCUMENT_BYTES" in text


def _docx_bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document>" + " " * 5_000_000 + "</w:document>")
    return buf.getvalue()


def test_docx_unpacked_size_bounded(tmp_path: Path) -> None:
    doc = tmp_path / "bomb.docx"
    doc.write_bytes(_docx_bomb())
    assert doc.stat().st_size < 50_000
    proc = run("ingest", str(doc), "--no-db", env={"HUIQI_MAX_UNPACKED_BYTES": "1000000"})
    text = clean_error(proc, code=1)
    assert "解压后过大" in text


def test_damaged_docx_message_has_no_internals(tmp_path: Path) -> None:
    doc = tmp_path / "junk.docx"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("word/document.xml", "<not-word/>")
    doc.write_bytes(buf.getvalue()[:-30])  # truncated central directory
    text = clean_error(run("ingest", str(doc), "--no-db"), code=1)
    assert ".docx" in text and "lxml" not in text and "zlib" not in text


# -- tracebacks become errors ----------------------------------------------------------------------


@pytest.mark.parametrize(("line", "needle"), [
    ("  established: 2023-02-30", "不存在"),
    ("  annual_revenue: " + "9" * 5001, "位数过多"),
    ("  annual_revenue: 1e308", "科学计数法"),
    ("  annual_revenue: 1.0e+308", "过大"),
    ("  annual_revenue: -1500万元", "负数"),
    ("  annual_revenue: 5千万元", None),
])
def test_profile_values(tmp_path: Path, line: str, needle: str | None) -> None:
    prof = tmp_path / "p.yaml"
    prof.write_text(f"name: 甲\nregion: {{province: 浙江省, city: 台州市}}\nenterprise:\n{line}\n", encoding="utf-8")
    proc = run("calc", str(prof), "--date", "2022-09-01", "--format", "json")
    if needle is None:
        assert proc.returncode == 0, proc.stderr
        return
    text = clean_error(proc)
    assert needle in text


def test_negative_project_money_refused(tmp_path: Path) -> None:
    prof = tmp_path / "p.yaml"
    prof.write_text("name: 甲\nprojects:\n  - {id: p1, investment: -1500万元, land_area_mu: -3}\n", encoding="utf-8")
    text = clean_error(run("calc", str(prof), "--date", "2022-09-01"))
    assert "项目投资额" in text and "负数" in text


def test_empty_profile_and_bad_project_ids(tmp_path: Path) -> None:
    prof = tmp_path / "empty.yaml"
    prof.write_text("", encoding="utf-8")
    assert "画像为空" in clean_error(run("calc", str(prof)))
    for ids in ("[1]", '""'):
        prof.write_text(f"name: 甲\nprojects:\n  - {{id: {ids}}}\n", encoding="utf-8")
        assert "项目编号" in clean_error(run("calc", str(prof)))


def test_json_duplicate_keys_refused(tmp_path: Path) -> None:
    prof = tmp_path / "dup.json"
    # a tab makes YAML refuse the text, so the JSON parser reads it: duplicates still refused
    prof.write_text('{\n\t"name": "甲",\n\t"name": "乙"\n}', encoding="utf-8")
    assert "重复的键" in clean_error(run("calc", str(prof)))


def test_param_names_and_values(tmp_path: Path) -> None:
    assert "未知的参数" in clean_error(run("calc", str(EXAMPLE), "--date", "2022-09-01", "--param", "nosuch=1"))
    assert "无法识别" in clean_error(run("calc", str(EXAMPLE), "--date", "2022-09-01", "--param", "lpr_1y=abc"))


def test_negative_cap_refused_at_load(tmp_path: Path) -> None:
    from huiqi.rules.packs import load_packs

    fixture = next((ROOT / "tests" / "fixtures" / "rules").glob("*.yaml"), None)
    source = (ROOT / "src" / "huiqi" / "rulepacks" / "linhai-2022-22.yaml").read_text("utf-8")
    assert "amount: 300万元" in source, fixture
    bad = tmp_path / "linhai-2022-22.yaml"
    bad.write_text(source.replace("amount: 300万元", "amount: -300万元", 1), encoding="utf-8")
    with pytest.raises(RuleError, match="负数"):
        load_packs([bad])


def test_simulate_csv_money_overflow(population: Path, tmp_path: Path) -> None:
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    table = pq.read_table(population)
    col = "project.investment" if "project.investment" in table.column_names else next(
        c for c in table.column_names if c.startswith("enterprise.") and "revenue" in c)
    rows = table.to_pylist()
    rows[0][col] = "9" * 40
    import pyarrow as pa

    csv_path = tmp_path / "pop.csv"
    pcsv.write_csv(pa.Table.from_pylist([{k: (None if v is None else str(v)) for k, v in r.items()} for r in rows]),
                   csv_path)
    for engine in ("duckdb", "per_row"):
        text = clean_error(run("simulate", str(csv_path), "--date", "2019-06-01", "--engine", engine))
        assert col in text, (engine, text)


# -- ingest CLI --------------------------------------------------------------------------------------


def test_ingest_missing_file_once_and_no_database(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    proc = run("ingest", "/nonexistent/file.txt", "--db", str(db))
    text = clean_error(proc, code=1)
    assert text.count("文件不存在") == 1 and "共 1 个文件" in text
    assert not db.exists()


def test_read_commands_do_not_create_database(tmp_path: Path) -> None:
    db = tmp_path / "nothere.db"
    for args in (("show", "x"), ("units",), ("targets",), ("search", "补助")):
        assert "政策库不存在" in clean_error(run(*args, "--db", str(db)))
    assert not db.exists()


def test_non_policy_text_warns_and_strict_fails(tmp_path: Path) -> None:
    hello = tmp_path / "hello.txt"
    hello.write_text("hello world\n", encoding="utf-8")
    proc = run("ingest", str(hello), "--no-db")
    assert proc.returncode == 0 and "不像政策文件" in proc.stderr
    text = clean_error(run("ingest", str(hello), "--no-db", "--strict"), code=1)
    assert "不像政策文件" in text
    # GBK text read as Big5 keeps its mojibake: flagged too
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("关于支持企业技术改造的若干意见\n" * 20, encoding="utf-8")
    garbled = ("关于支持企业技术改造的若干意见。对设备投资额500万元以上的项目给予补助。\n" * 30).encode("gbk").decode(
        "big5", errors="replace").replace("\ufffd", "")
    wrong.write_text(garbled, encoding="utf-8")
    proc = run("ingest", str(wrong), "--no-db", "--strict")
    assert proc.returncode == 1 and "内容检查" in proc.stderr, proc.stderr


def test_utf16_without_bom_is_read(tmp_path: Path) -> None:
    doc = tmp_path / "u16.txt"
    doc.write_bytes("关于支持企业技术改造的若干意见\n一、对设备投资额500万元以上的项目给予补助。\n".encode("utf-16-le"))
    proc = run("ingest", str(doc), "--no-db", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert "二进制" not in proc.stderr


# -- Ctrl-C ------------------------------------------------------------------------------------------


def _interrupt(args: list[str], after: float, cwd: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.Popen([*HUIQI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
                            env=ENV, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(after)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_ctrl_c_in_simulate_and_parallel_ingest(population: Path, tmp_path: Path) -> None:
    from tests.conftest import seeds_dir

    big = tmp_path / "big.parquet"
    assert run("synth", "--city", "十堰", "--n", "200000", "--seed", "5", "--out", str(big)).returncode == 0
    proc = _interrupt(["simulate", str(big), "--date", "2019-06-01", "--out", str(tmp_path / "r.xlsx")], 1.5, tmp_path)
    if proc.returncode == 0:
        pytest.skip("simulation finished before the interrupt")
    assert proc.returncode == 130 and "已中断" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert not (tmp_path / "r.xlsx").exists() and not list(tmp_path.glob(".*.tmp"))
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(4):
        for seed in seeds_dir().glob("*.txt"):
            (docs / f"{i}_{seed.name}").write_bytes(seed.read_bytes())
    proc = _interrupt(["ingest", str(docs), "--db", str(tmp_path / "p.db"), "--jobs", "2"], 2.0, tmp_path)
    assert proc.returncode == 130 and "已中断" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and "KeyboardInterrupt" not in proc.stderr, proc.stderr
