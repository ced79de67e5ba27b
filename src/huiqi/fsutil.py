"""Safe file output: atomic writes, owned temporary files, and outputs that never replace inputs.

* A reader never sees a half-written file: every output is written to a temporary file
  next to its target and renamed over it only when complete.
* Temporary files and directories carry the writing process's id in their names
  (``.x.xlsx.huiqi-4242-ab12cd.tmp``, ``huiqi-sim-4242-ab12cd``). A process killed with
  SIGKILL cannot clean up after itself, so a later run removes the ones whose process is
  no longer alive: those are provably ours and provably abandoned. Nothing else is touched.
* :func:`check_outputs` refuses an output that is (or resolves to) an input, two outputs
  of one run that are the same file, an output that is a directory, and an output
  directory that cannot be written, before any work is done.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from huiqi.errors import InputError

TEMP_TAG = "huiqi"
# .<target name>.huiqi-<pid>-<random>.tmp
_TEMP_FILE = re.compile(r"^\..+\.huiqi-(\d+)-[A-Za-z0-9_]+\.tmp$")
# huiqi-<purpose>-<pid>-<random>
_TEMP_DIR = re.compile(r"^huiqi-[a-z]+-(\d+)-[A-Za-z0-9_]+$")


def pid_alive(pid: int) -> bool:
    """True when a process with this id exists (or might: we may not signal it)."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return True
    return True


def sweep_stale(directory: str | os.PathLike[str]) -> list[Path]:
    """Remove temporary files/directories left here by huiqi processes that no longer exist."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        m = _TEMP_FILE.match(entry.name) or _TEMP_DIR.match(entry.name)
        if m is None or pid_alive(int(m.group(1))):
            continue
        path = Path(entry.path)
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink()
            removed.append(path)
        except OSError:
            continue
    return removed


def temp_root() -> Path:
    """Where working directories go: $HUIQI_WORKDIR or the system temporary directory."""
    return Path(os.environ.get("HUIQI_WORKDIR") or tempfile.gettempdir())


def make_temp_dir(purpose: str, root: str | os.PathLike[str] | None = None) -> Path:
    """A new working directory ``huiqi-<purpose>-<pid>-<random>``; stale ones are swept first."""
    base = Path(root) if root is not None else temp_root()
    base.mkdir(parents=True, exist_ok=True)
    sweep_stale(base)
    return Path(tempfile.mkdtemp(prefix=f"{TEMP_TAG}-{purpose}-{os.getpid()}-", dir=base))


class OwnedTempDir:
    """A working directory removed by :meth:`cleanup` (or by a later run if we are killed)."""

    def __init__(self, purpose: str, root: str | os.PathLike[str] | None = None) -> None:
        self.path = make_temp_dir(purpose, root)
        self.name = str(self.path)

    def cleanup(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


def _output_error(target: Path, exc: OSError) -> InputError:
    if isinstance(exc, IsADirectoryError) or target.is_dir():
        return InputError("输出路径是一个目录,不能作为输出文件", file=str(target), hint="请给出文件名,如 结果.xlsx")
    if isinstance(exc, PermissionError):
        return InputError("没有写入权限,无法写出文件", file=str(target), hint="请换一个可写的目录")
    if isinstance(exc, (NotADirectoryError, FileExistsError)):
        return InputError("输出路径中有一级不是目录(已有同名文件)", file=str(target))
    reason = exc.strerror or "未知原因"
    return InputError(f"无法写出文件:{reason}", file=str(target))


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it over ``target`` on success.

    On any failure (including Ctrl-C) the temporary file is removed and ``target`` is
    left as it was. OS errors (directory, permissions, disk full) become InputError.
    """
    target = Path(target)
    if target.is_dir():
        raise InputError("输出路径是一个目录,不能作为输出文件", file=str(target), hint="请给出文件名,如 结果.xlsx")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        sweep_stale(target.parent)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{TEMP_TAG}-{os.getpid()}-", suffix=".tmp",
                                   dir=target.parent)
    except OSError as exc:
        raise _output_error(target, exc) from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp creates 0600 files; exports are meant to be shared like any other file.
        umask = os.umask(0)
        os.umask(umask)
        try:
            os.chmod(tmp_path, 0o666 & ~umask)
            os.replace(tmp_path, target)
        except OSError as exc:
            raise _output_error(target, exc) from None
    finally:
        with contextlib.suppress(OSError):
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_open(target: str | os.PathLike[str], mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    with atomic_path(target) as tmp:
        try:
            fh = open(tmp, mode, encoding=None if "b" in mode else encoding)
        except OSError as exc:
            raise _output_error(Path(target), exc) from None
        with fh:
            yield fh


def write_text_atomic(target: str | os.PathLike[str], text: str) -> None:
    with atomic_open(target, "w") as fh:
        fh.write(text)


# -- outputs never replace inputs ------------------------------------------------------------


def _identity(path: Path) -> tuple[str, object]:
    """A key equal for two spellings of one file (symlinks, ../, hard links)."""
    try:
        st = path.stat()
        return ("inode", (st.st_dev, st.st_ino))
    except OSError:
        return ("path", str(path.resolve()))


def _identities(path: Path) -> set[tuple[str, object]]:
    keys: set[tuple[str, object]] = {("path", str(path.resolve()))}
    keys.add(_identity(path))
    return keys


def check_outputs(outputs: Iterable[str | os.PathLike[str]],
                  inputs: Iterable[str | os.PathLike[str]] = ()) -> None:
    """Refuse, before any work: an output equal to an input, two equal outputs, a directory
    as an output file, and an output directory that does not accept new files."""
    input_keys: dict[tuple[str, object], Path] = {}
    for raw in inputs:
        p = Path(raw)
        for key in _identities(p):
            input_keys[key] = p
        if p.is_dir():  # a Parquet dataset directory: nothing may be written inside it
            input_keys[("dir", str(p.resolve()))] = p
    seen: dict[tuple[str, object], Path] = {}
    for raw in outputs:
        out = Path(raw)
        keys = _identities(out)
        clash = next((input_keys[k] for k in keys if k in input_keys), None)
        if clash is None:
            clash = next((d for k, d in input_keys.items() if k[0] == "dir"
                          and str(out.resolve()).startswith(str(k[1]) + os.sep)), None)
        if clash is not None:
            raise InputError(f"输出文件与输入文件 {clash} 是同一个文件,写出会覆盖输入", file=str(out),
                             hint="请换一个输出文件名")
        twin = next((seen[k] for k in keys if k in seen), None)
        if twin is not None:
            raise InputError(f"输出文件与本次的另一个输出 {twin} 是同一个文件,后写的会覆盖先写的", file=str(out),
                             hint="请给每个输出不同的文件名")
        for key in keys:
            seen[key] = out
        if out.is_dir():
            raise InputError("输出路径是一个目录,不能作为输出文件", file=str(out), hint="请给出文件名,如 结果.xlsx")
        check_writable_dir(out.parent, file=str(out))


def check_writable_dir(directory: Path, *, file: str | None = None) -> None:
    """The nearest existing ancestor of ``directory`` must be a writable directory."""
    probe = directory if str(directory) else Path(".")
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise InputError(f"输出路径中的 {probe} 是文件而不是目录", file=file or str(directory))
    if probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
        raise InputError(f"输出目录 {probe} 不可写", file=file or str(directory), hint="请换一个可写的目录")


def check_output_dir(directory: str | os.PathLike[str], *, option: str) -> None:
    """An option naming a directory to write into (``--store``, ``--charts``, ``--out`` of ingest)."""
    d = Path(directory)
    if d.exists() and not d.is_dir():
        raise InputError(f"{option} 应为目录,但 {d} 是已有的文件", file=str(d), field=option,
                         hint="请给出一个目录(不存在时会自动创建)")
    check_writable_dir(d, file=str(d))
