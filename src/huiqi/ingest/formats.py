"""Read a policy source file (txt, html, docx, pdf) into plain text with provenance."""

from __future__ import annotations

import hashlib
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from huiqi import limits
from huiqi.errors import InputError
from huiqi.ingest.decode import DecodedText, decode_bytes, decode_declared, sniff_declared_charset

Format = Literal["txt", "html", "docx", "pdf"]

_TEXT_SUFFIXES = {".txt", ".text", ".md", ""}
_HTML_SUFFIXES = {".html", ".htm", ".shtml", ".xhtml", ".jsp", ".aspx", ".asp", ".php"}
_UNSUPPORTED = {
    ".doc": "旧版 Word(.doc)文件请先另存为 .docx",
    ".wps": "WPS 文件请先另存为 .docx",
    ".ofd": "OFD 版式文件请先转换为 PDF 或 .docx",
    ".xls": "表格文件不是政策正文",
    ".xlsx": "表格文件不是政策正文",
    ".zip": "请先解压",
    ".rar": "请先解压",
    ".png": "图片需先做 OCR",
    ".jpg": "图片需先做 OCR",
    ".jpeg": "图片需先做 OCR",
    ".tif": "图片需先做 OCR",
}


@dataclass
class SourceText:
    text: str
    encoding: str
    format: Format
    sha256: str
    size: int
    bad_spans: list[tuple[int, int]] = field(default_factory=list)


def read_source(path: Path) -> SourceText:
    """Read ``path`` and return its visible text; raises InputError for unusable files."""
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise InputError("文件不存在", file=name)
    if path.is_dir():
        raise InputError("这是一个目录,不是文件", file=name)
    try:
        size = path.stat().st_size
        most = limits.document_bytes()
        if size > most:
            raise InputError(f"文件过大({size:,} 字节,上限 {most:,} 字节)", file=name,
                             hint=f"政策文件通常不超过几 MB;可用环境变量 {limits.DOCUMENT_BYTES_ENV} 调整上限")
        data = path.read_bytes()
    except OSError as exc:
        reason = "没有读取权限" if isinstance(exc, PermissionError) else exc.strerror or "未知原因"
        raise InputError(f"无法读取文件:{reason}", file=name) from None
    digest = hashlib.sha256(data).hexdigest()
    suffix = path.suffix.lower()

    if suffix in _UNSUPPORTED:
        raise InputError(f"不支持的文件类型 {suffix}", file=name, hint=_UNSUPPORTED[suffix])
    if suffix == ".docx" or (suffix not in _HTML_SUFFIXES | _TEXT_SUFFIXES and data[:2] == b"PK"):
        text = docx_text(data, name)
        return SourceText(text, "utf-8", "docx", digest, len(data))
    if suffix == ".pdf" or data[:5] == b"%PDF-":
        text = pdf_text(data, name)
        return SourceText(text, "pdf", "pdf", digest, len(data))

    if suffix in _HTML_SUFFIXES or _sniff_html(data):
        decoded = _decode_html(data, name)
        text, bad = html_text(decoded.text, decoded.bad_spans)
        return SourceText(text, decoded.encoding, "html", digest, len(data), bad)
    decoded = decode_bytes(data, name)
    return SourceText(decoded.text, decoded.encoding, "txt", digest, len(data), decoded.bad_spans)


# --- HTML ----------------------------------------------------------------------

_BLOCK_TAGS = {
    "p", "div", "section", "article", "main", "header", "footer", "nav", "aside", "ul", "ol", "li", "dl",
    "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tfoot", "tr", "blockquote",
    "pre", "hr", "form", "fieldset", "address", "figure", "figcaption", "center", "caption", "body", "title",
}
_SKIP_TAGS = {"script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "canvas",
              "select", "option", "textarea", "input", "button", "head", "meta", "link"}
_CELL_TAGS = {"td", "th"}
_HIDDEN = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_NEWLINE = "\x00NL\x00"
_CELL = "\x00TD\x00"
_BAD_MARK = "\ufffd"


def _sniff_html(data: bytes) -> bool:
    head = data[:2048].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<?xml")) or b"<body" in head or b"<head" in head


def _decode_html(data: bytes, name: str) -> DecodedText:
    declared = sniff_declared_charset(data)
    if declared:
        decoded = decode_declared(data, name, declared)
        if decoded is not None:
            return decoded
    return decode_bytes(data, name)


def html_text(markup: str, bad_spans: list[tuple[int, int]] | None = None) -> tuple[str, list[tuple[int, int]]]:
    """Visible text of an HTML page, one block per line, table cells joined by " | ".

    Undecodable bytes were decoded as U+FFFD; their positions in the extracted
    text are found again after extraction (markup offsets do not survive).
    """
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(markup)
    root = tree.body or tree.root
    pieces: list[str] = []
    if root is not None:
        _walk(root, pieces)
    raw = "".join(pieces)
    lines: list[str] = []
    for block in raw.split(_NEWLINE):
        cells = [_collapse(c) for c in block.split(_CELL)]
        cells = [c for c in cells if c]
        line = " | ".join(_dedupe_adjacent(cells))
        if line:  # one block per line; blank lines carry no information in HTML
            lines.append(line)
    text = "\n".join(lines)
    bad: list[tuple[int, int]] = []
    if bad_spans:
        bad = [(m.start(), m.end()) for m in re.finditer(f"{_BAD_MARK}+", text)]
    return text, bad


def _walk(node: object, pieces: list[str]) -> None:
    # selectolax nodes are untyped; access is kept to tag/attributes/iter/text.
    for child in node.iter(include_text=True):  # type: ignore[attr-defined]
        tag = child.tag
        if tag == "-text":
            pieces.append(child.text(deep=False))
            continue
        if tag in _SKIP_TAGS or tag.startswith("-"):
            continue
        attrs = child.attributes
        if _HIDDEN.search(attrs.get("style") or "") or "hidden" in attrs:
            continue
        if tag == "br":
            pieces.append(_NEWLINE)
            continue
        block = tag in _BLOCK_TAGS
        if block:
            pieces.append(_NEWLINE)
        _walk(child, pieces)
        if tag in _CELL_TAGS:
            pieces.append(_CELL)
        elif block:
            pieces.append(_NEWLINE)


def _collapse(text: str) -> str:
    # HTML collapses whitespace; the ideographic space is content (paragraph indent).
    return re.sub(r"[ \t\r\n\f\xa0]+", " ", text).strip(" ")


def _dedupe_adjacent(cells: list[str]) -> list[str]:
    out: list[str] = []
    for c in cells:
        if not out or out[-1] != c:
            out.append(c)
    return out


# --- DOCX ----------------------------------------------------------------------


def docx_text(data: bytes, name: str) -> str:
    """Paragraphs and table rows of a .docx in document order."""
    import io

    from docx import Document as open_docx

    _check_zip_bounds(data, name)
    try:
        document = open_docx(io.BytesIO(data))
    except Exception:  # zipfile, zlib, lxml and python-docx each raise their own types for a damaged file
        raise InputError("无法打开 .docx 文件(文件损坏或不是 Word 文档)", file=name) from None
    try:
        return _docx_lines(document, name)
    except InputError:
        raise
    except Exception:
        raise InputError("无法读取 .docx 文件的内容(文档结构损坏)", file=name) from None


def _check_zip_bounds(data: bytes, name: str) -> None:
    """A .docx is a zip: refuse one whose members unpack beyond the limit (a "zip bomb").

    The sizes come from the zip directory; zipfile never inflates a member beyond its declared
    size, so checking them bounds the memory used.
    """
    import io

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = zf.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise InputError("无法打开 .docx 文件(文件损坏或不是 Word 文档)", file=name) from None
    if len(members) > 10_000:
        raise InputError(f".docx 文件包含的部件过多({len(members):,} 个)", file=name)
    unpacked = sum(m.file_size for m in members)
    most = limits.unpacked_bytes()
    if unpacked > most:
        raise InputError(f".docx 解压后过大({unpacked:,} 字节,上限 {most:,} 字节)", file=name,
                         hint=f"可用环境变量 {limits.UNPACKED_BYTES_ENV} 调整上限")


def _docx_lines(document: Any, name: str) -> str:
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    lines: list[str] = []
    body = document.element.body
    total = 0
    most = limits.document_chars()
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            lines.append(Paragraph(child, document).text)
        elif tag == "tbl":
            for row in Table(child, document).rows:
                cells = _dedupe_adjacent([c.text.strip() for c in row.cells if c.text.strip()])
                if cells:
                    lines.append(" | ".join(cells))
        total += len(lines[-1]) if lines else 0
        if total > most:
            raise InputError(f"文档文字过多(超过 {most:,} 字)", file=name,
                             hint=f"可用环境变量 {limits.DOCUMENT_CHARS_ENV} 调整上限")
    text = "\n".join(lines).strip("\n")
    if not text.strip():
        raise InputError("Word 文档中没有文字内容", file=name)
    return text


# --- PDF -----------------------------------------------------------------------


def pdf_text(data: bytes, name: str) -> str:
    """Text layer of a PDF; scanned PDFs (no text layer) are refused with a clear message."""
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    most = limits.document_chars()
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise InputError("PDF 已加密,无法读取", file=name)
        pages: list[str] = []
        total = 0
        # pypdf bounds each decompressed stream itself (75 MB); the text as a whole is bounded here.
        for page in reader.pages:
            pages.append(page.extract_text() or "")
            total += len(pages[-1])
            if total > most:
                raise InputError(f"PDF 文字过多(超过 {most:,} 字)", file=name,
                                 hint=f"可用环境变量 {limits.DOCUMENT_CHARS_ENV} 调整上限")
    except InputError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError):
        raise InputError("PDF 文件损坏,无法读取", file=name) from None
    except RecursionError:
        raise InputError("PDF 文件结构嵌套过深,无法读取", file=name) from None
    except Exception:  # pypdf's limit errors, zlib errors and other damage
        raise InputError("PDF 文件损坏或超出解压上限,无法读取", file=name) from None
    text = "\n".join(pages)
    visible = len(re.sub(r"\s", "", text))
    if visible < 20 * max(len(pages), 1) // 2:
        raise InputError("PDF 无文本层(扫描件),需先做 OCR", file=name)
    return text.replace("\r\n", "\n").replace("\r", "\n")
