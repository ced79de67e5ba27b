"""Ingestion pipeline: one source file in, one structured ``Document`` out.

Stages, each in its own module: read & decode (formats, decode) → repair mojibake →
strip site boilerplate (keeping metadata header lines) → traditional → simplified
(keeping an offset map) → outline → per measure: units, provisions, targets →
metadata. Nothing is dropped silently: every removal, repair and unreadable span is
recorded in ``Document.quality``.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import re
import signal
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from huiqi.document import (
    Document,
    Measure,
    Quality,
    SourceInfo,
    Span,
    Target,
)
from huiqi.errors import HuiqiError, InputError
from huiqi.ingest.boilerplate import strip_boilerplate
from huiqi.ingest.decode import chinese_score
from huiqi.ingest.formats import read_source
from huiqi.ingest.metadata import extract_metadata
from huiqi.ingest.mojibake import is_han, repair_mojibake
from huiqi.ingest.outline import MeasureDraft, segment
from huiqi.ingest.provisions import extract_provisions
from huiqi.ingest.script import detect_script, to_simplified
from huiqi.ingest.targets import extract_targets
from huiqi.ingest.units import extract_units

SUPPORTED_SUFFIXES = {".txt", ".text", ".htm", ".html", ".shtml", ".docx", ".pdf"}


def document_id(simplified_body: str) -> str:
    """Content-derived id: the same text ingested twice gets the same id."""
    normalized = "".join(simplified_body.split())
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()[:16]


# Items of a list of eligibility conditions (同时符合以下条件: (一)新增固定资产投资1000万元以上; …) and
# a measure headed as conditions (享受条件, 申报条件): their figures are conditions of a grant even
# though the item itself grants nothing.
_CONDITION_LIST = re.compile(r"(?:以下|下列|如下)[^。;；\n]{0,12}条件[^。;；\n]{0,4}[:：]?\s*$")
_CONDITION_TITLE = re.compile(r"^(?:享受|申报|申请|认定|支持|适用)?条件$")


def ingest_file(path: str | os.PathLike[str]) -> Document:
    path = Path(path)
    source = read_source(path)
    quality = Quality()
    for start, end in source.bad_spans:
        quality.unreadable.append(
            Span(start=start, end=end, text=source.text[start:end], reason="无法解码的字节")
        )

    mojibake = repair_mojibake(source.text)
    quality.repaired.extend(mojibake.repaired)
    quality.unreadable.extend(mojibake.unreadable)

    cleaned = strip_boilerplate(mojibake.text)
    quality.boilerplate_removed.extend(cleaned.removed)
    body = cleaned.body
    if not body.strip():
        raise InputError("去除网页框架文字后没有正文内容", file=str(path))

    script = detect_script(body)
    simplified, offset_map = to_simplified(body)
    header_simplified, _ = to_simplified(cleaned.header)

    outline = segment(simplified)
    quality.warnings.extend(outline.warnings)

    measures: list[Measure] = []
    targets: list[Target] = []
    lists_conditions: dict[str, bool] = {}  # measure key → its own text ends announcing a list of conditions
    for draft in outline.measures:
        own = simplified[draft.start : draft.own_end]
        key = "/".join([*draft.path, draft.label])
        lists_conditions[key] = _CONDITION_LIST.search(own[-40:]) is not None
        conditions = bool(_CONDITION_TITLE.search(draft.title) or lists_conditions.get("/".join(draft.path), False))
        provisions, unparsed = extract_provisions(own, conditions=conditions)
        for span in unparsed:
            quality.unparsed_numbers.append(
                Span(start=draft.start + span.start, end=draft.start + span.end, text=span.text,
                     reason=span.reason or f"条款 {'/'.join([*draft.path, draft.label])}")
            )
        for target in extract_targets(own):
            targets.append(target.model_copy(update={"measure": key}))
        original_span = _original_slice(body, offset_map, draft.start, draft.end)
        measures.append(
            Measure(
                label=draft.label,
                path=list(draft.path),
                level=draft.level,
                style=draft.style,
                title=draft.title,
                text=draft.text,
                original_text=original_span if script != "simplified" else "",
                start=draft.start,
                end=draft.end,
                units=extract_units(own),
                provisions=provisions,
            )
        )

    if outline.preamble is not None:
        p_start, p_end = outline.preamble
        for target in extract_targets(simplified[p_start:p_end]):
            targets.append(target.model_copy(update={"measure": None, "start": target.start + p_start,
                                                     "end": target.end + p_start}))

    meta = extract_metadata(header_simplified, simplified)
    quality.warnings.extend(meta.warnings)
    quality.warnings.extend(_content_checks(simplified, measures))

    return Document(
        id=document_id(simplified),
        title=meta.title or _heading_title(outline.measures) or path.stem,
        doc_number=meta.doc_number,
        issuers=list(meta.issuers),
        region=meta.region,
        signed_date=meta.signed_date,
        published_date=meta.published_date,
        effective_from=meta.effective_from,
        effective_to=meta.effective_to,
        validity_text=meta.validity_text,
        status="draft" if meta.status == "draft" else "final",
        status_label=meta.status_label,
        script=script,
        source=SourceInfo(
            path=str(path),
            sha256=source.sha256,
            bytes=source.size,
            encoding=source.encoding,
            format=source.format,
        ),
        text=simplified,
        original_text=body,
        offset_map=offset_map,
        measures=measures,
        targets=targets,
        quality=quality,
    )


def _heading_title(drafts: list[MeasureDraft]) -> str:
    """A page without a title line that holds one numbered measure is titled by that heading."""
    if len(drafts) == 1 and drafts[0].style != "none":
        return drafts[0].title
    return ""


CONTENT_WARNING = "内容检查:"
_POLICY_WORDS = ("政策", "通知", "意见", "办法", "措施", "方案", "规定", "细则", "企业", "单位", "补助", "奖励", "支持",
                 "扶持", "部门", "人民政府", "实施", "工作")


def _content_checks(text: str, measures: list[Measure]) -> list[str]:
    """Warnings for text that is probably not a policy document or was decoded wrongly.

    Each starts with :data:`CONTENT_WARNING`; ``huiqi ingest --strict`` turns them into errors.
    """
    sample = text[:200_000]
    visible = [ch for ch in sample if not ch.isspace()]
    if not visible:
        return []
    han = sum(1 for ch in visible if is_han(ch)) / len(visible)
    out: list[str] = []
    if han < 0.2:
        out.append(f"{CONTENT_WARNING}正文中汉字只占 {han:.0%},不像政策文件")
    else:
        score = chinese_score(sample)
        if score < 0.8:
            out.append(f"{CONTENT_WARNING}常用字只占 {score:.0%},可能是编码识别错误或乱码")
        elif not measures and not any(word in sample for word in _POLICY_WORDS):
            out.append(f"{CONTENT_WARNING}没有识别出条款,也没有政策文件常用词,内容可能不是政策文件")
    return out


def content_warnings(doc: Document) -> list[str]:
    """The content-check warnings of an ingested document (see :func:`_content_checks`)."""
    return [w for w in doc.quality.warnings if w.startswith(CONTENT_WARNING)]


def _original_slice(body: str, offset_map: list[int] | None, start: int, end: int) -> str:
    if offset_map is None:
        return body[start:end]
    o_start = offset_map[start] if start < len(offset_map) else len(body)
    o_end = offset_map[end] if end < len(offset_map) else len(body)
    return body[o_start:o_end]


def discover(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    """Expand directories into the files they hold, in a stable order (unreadable folders skipped)."""
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found: list[Path] = []
            for folder, dirs, names in os.walk(p, onerror=lambda _exc: None):
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                found += [Path(folder) / n for n in names if not n.startswith(".")]
            yield from sorted(f for f in found if f.is_file())
        else:
            yield p


@dataclass
class IngestOutcome:
    path: Path
    document: Document | None = None
    error: str | None = None


def _ingest_one(path: Path) -> IngestOutcome:
    try:
        return IngestOutcome(path=path, document=ingest_file(path))
    except HuiqiError as exc:
        if exc.file is None:
            exc.file = str(path)
        return IngestOutcome(path=path, error=str(exc))
    except FileNotFoundError:
        return IngestOutcome(path=path, error=f"{path}:文件不存在")
    except IsADirectoryError:
        return IngestOutcome(path=path, error=f"{path}:是目录而不是文件")
    except PermissionError:
        return IngestOutcome(path=path, error=f"{path}:没有读取权限")
    except OSError as exc:
        return IngestOutcome(path=path, error=f"{path}:无法读取文件({exc.strerror or '未知原因'})")
    except RecursionError:
        return IngestOutcome(path=path, error=f"{path}:文件结构嵌套过深,无法处理")
    except MemoryError:
        return IngestOutcome(path=path, error=f"{path}:文件过大,内存不足")
    except Exception:
        # A bug of ours on an unusual file: the batch goes on; no Python internals in the message.
        return IngestOutcome(path=path, error=f"{path}:处理失败(程序内部错误,请把该文件报告给维护者)")


def _ignore_sigint() -> None:
    # Ctrl-C reaches the whole process group; only the parent handles it (terminating the
    # workers), so no worker prints a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def ingest_many(paths: Iterable[Path], jobs: int = 1) -> Iterator[IngestOutcome]:
    """Ingest files, in parallel processes when ``jobs`` > 1; results come in input order.

    Interrupted (Ctrl-C) or abandoned by the caller, the worker processes are terminated.
    """
    files = list(paths)
    if jobs <= 1 or len(files) <= 1:
        for f in files:
            yield _ingest_one(f)
        return
    pool = multiprocessing.get_context().Pool(processes=jobs, initializer=_ignore_sigint)
    try:
        yield from pool.imap(_ingest_one, files, chunksize=max(1, min(16, len(files) // (jobs * 4) or 1)))
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
