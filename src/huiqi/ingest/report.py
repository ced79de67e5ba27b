"""Per-document outputs of ingestion: the versioned JSON file and a one-line summary."""

from __future__ import annotations

from pathlib import Path

from huiqi.document import Document
from huiqi.fsutil import write_text_atomic


def document_json_path(doc: Document, out_dir: Path) -> Path:
    return Path(out_dir) / f"{Path(doc.source.path).stem}.{doc.id}.json"


def write_document_json(doc: Document, out_dir: Path) -> Path:
    target = document_json_path(doc, out_dir)
    write_text_atomic(target, doc.model_dump_json(indent=2) + "\n")
    return target


def summarize_document(doc: Document) -> dict[str, object]:
    return {
        "id": doc.id,
        "file": Path(doc.source.path).name,
        "title": doc.title,
        "doc_number": doc.doc_number,
        "status": doc.status_label or ("草案" if doc.status == "draft" else "正式"),
        "measures": len(doc.measures),
        "units": sum(1 for m in doc.measures if m.units.all),
        "provisions": sum(len(m.provisions) for m in doc.measures),
        "targets": len(doc.targets),
        "boilerplate_removed": len(doc.quality.boilerplate_removed),
        "repaired": len(doc.quality.repaired),
        "unreadable": len(doc.quality.unreadable),
        "warnings": list(doc.quality.warnings),
    }
