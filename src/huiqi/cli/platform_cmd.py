"""`huiqi serve`, `huiqi worker`, `huiqi users add`, `huiqi db upgrade`, `huiqi audit verify`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from typing import Annotated

import typer

from huiqi.errors import HuiqiError

users_app = typer.Typer(help="用户账户。", no_args_is_help=True)
db_app = typer.Typer(help="数据库结构(Alembic 迁移)。", no_args_is_help=True)
audit_app = typer.Typer(help="审计日志(哈希链)。", no_args_is_help=True)

DbUrl = Annotated[str | None, typer.Option("--db", help="数据库:SQLite 文件路径或 postgresql://;默认 HUIQI_DB 或 var/huiqi.db")]


def _echo(text: str, err: bool = False) -> None:
    from huiqi.cli.main import console, err_console

    (err_console if err else console).print(text)


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="用户名")],
    role: Annotated[str, typer.Option("--role", help="enterprise | county | department | finance | supervisor | admin")],
    region: Annotated[str | None, typer.Option("--region", help="县(市、区)用户的辖区,如 临海市")] = None,
    department: Annotated[str | None, typer.Option("--department", help="部门用户的部门,如 市经信局")] = None,
    enterprise: Annotated[str | None, typer.Option("--enterprise", help="企业用户的统一社会信用代码或名称")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="从标准输入读取密码(第一行)")] = False,
    db: DbUrl = None,
) -> None:
    """新增用户(密码以 argon2 哈希保存,操作写入审计日志)。"""
    from huiqi.store.db import write_tx
    from huiqi.store.migrate import upgrade
    from huiqi.web.auth import add_user

    if not password_stdin:
        raise HuiqiError("请用 --password-stdin 从标准输入提供密码(避免密码出现在命令历史中)",
                         field="--password-stdin")
    password = sys.stdin.readline().rstrip("\r\n")
    engine = upgrade(db)
    with write_tx(engine) as conn:
        user_id = add_user(conn, name, role, password, region=region, department=department,
                           enterprise=enterprise, actor="cli")
    engine.dispose()
    _echo(f"已新增用户 {name}(角色 {role},编号 {user_id})")


@db_app.command("upgrade")
def db_upgrade(db: DbUrl = None) -> None:
    """把数据库结构升级到最新版本(全部分支:平台、申报、督办)。"""
    from huiqi.store.migrate import current_revisions, upgrade

    engine = upgrade(db)
    heads = "、".join(sorted(current_revisions(engine)))
    engine.dispose()
    _echo(f"数据库已是最新结构:{heads}")


@audit_app.command("verify")
def audit_verify(db: DbUrl = None) -> None:
    """核对审计日志哈希链:完好退出码 0,否则 1 并指出第一条被破坏的记录。"""
    from huiqi.store.audit import verify
    from huiqi.store.migrate import upgrade

    engine = upgrade(db)
    with engine.connect() as conn:
        report = verify(conn)
    engine.dispose()
    if report.ok:
        _echo(f"审计日志完好:共核对 {report.checked} 条记录")
        return
    _echo(f"[red]审计日志被破坏[/]:第 {report.first_broken} 条记录{report.reason}"
          f"(此前 {report.checked} 条完好)", err=True)
    raise typer.Exit(1)


def worker(
    db: DbUrl = None,
    parent_pid: Annotated[int | None, typer.Option("--parent-pid", hidden=True)] = None,
) -> None:
    """运行后台任务(预算测算、亩均评价)直到收到终止信号;huiqi serve 会自动启动一个。"""
    from huiqi.jobs import run_worker
    from huiqi.store.migrate import upgrade

    engine = upgrade(db)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if parent_pid is not None:
        # Started by `huiqi serve`: never outlive it, even when it is killed without cleaning up.
        def watch_parent() -> None:
            while not stop.wait(1.0):
                if os.getppid() != parent_pid:
                    stop.set()

        threading.Thread(target=watch_parent, name="parent-watch", daemon=True).start()
    try:
        run_worker(engine, stop)
    except KeyboardInterrupt:
        stop.set()
    finally:
        engine.dispose()


def serve(
    db: DbUrl = None,
    host: Annotated[str, typer.Option("--host", help="监听地址")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="端口")] = 8000,
    workers: Annotated[int, typer.Option("--workers", help="uvicorn 进程数")] = 1,
    job_workers: Annotated[int, typer.Option("--job-workers", help="后台任务进程数(0 = 不启动)")] = 1,
) -> None:
    """启动惠企网站与 REST API(FastAPI + uvicorn),并启动后台任务进程。"""
    import uvicorn

    from huiqi.jobs import recover
    from huiqi.store.db import redact
    from huiqi.store.migrate import upgrade

    if db is not None:
        os.environ["HUIQI_DB"] = db
    engine = upgrade(db)
    # Nothing runs jobs before this server starts its workers: a job still "running" was interrupted.
    for job_id, state in recover(engine):
        _echo(f"任务 {job_id} 在上次停止时仍在运行:{'已重新排队' if state == 'queued' else '已标记失败'}", err=True)
    url = redact(str(engine.url))
    engine.dispose()
    env = {**os.environ, "HUIQI_DB": db or os.environ.get("HUIQI_DB", "")}
    if not env["HUIQI_DB"]:
        env.pop("HUIQI_DB")
    procs = [
        subprocess.Popen([sys.executable, "-m", "huiqi.cli.main", "worker", "--parent-pid", str(os.getpid())],
                         env=env)
        for _ in range(job_workers)
    ]
    # uvicorn re-raises SIGTERM after its graceful shutdown; turning it into SystemExit here lets the
    # `finally` below stop the job workers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    _echo(f"惠企已启动:http://{host}:{port}/ (数据库 {url};按 Ctrl-C 停止)")
    try:
        uvicorn.run("huiqi.web.asgi:app_factory", factory=True, host=host, port=port, workers=workers,
                    log_level="warning", access_log=False)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
