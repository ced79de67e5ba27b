"""Attachments (申报材料): size and type limits, a checksum, stored outside the database.

Files are content-addressed under ``<var>/attachments/ab/abcdef…`` (sha256), written
atomically; the database keeps name, type, size, checksum and the path. The type is
checked by extension AND by the file's first bytes, so a renamed executable is refused.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from huiqi.errors import InputError, StateError
from huiqi.fsutil import atomic_path
from huiqi.store import audit
from huiqi.store.db import utc_now
from huiqi.workflow.applications import get_application
from huiqi.workflow.tables import wf_applications, wf_attachments

__all__ = ["ALLOWED", "MAX_BYTES", "add_attachment", "attachment_file"]

MAX_BYTES = 10 * 1024 * 1024
# extension → (content type, magic prefixes)
ALLOWED: dict[str, tuple[str, tuple[bytes, ...]]] = {
    ".pdf": ("application/pdf", (b"%PDF-",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (b"PK\x03\x04",)),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (b"PK\x03\x04",)),
}
_EDITABLE = ("draft", "returned")


def add_attachment(conn: sa.Connection, who: Any, app_id: int, document: str, filename: str, data: bytes,
                   store: Path, *, max_bytes: int = MAX_BYTES) -> dict[str, Any]:
    """Check and store one file for ``app_id`` (the enterprise's own draft or returned application)."""
    app = get_application(conn, who, app_id)  # scope: 404 outside the caller's scope
    if who.role != "enterprise":
        raise StateError("只有申报企业可以上传材料", field="role")
    if app["status"] not in _EDITABLE:
        raise StateError(f"申报状态为「{app['status_label']}」,不能再上传材料", field="attachments")
    document = document.strip()
    if not document:
        raise InputError("请说明这是哪一项材料", field="document")
    name = Path(filename or "").name
    ext = Path(name).suffix.lower()
    if ext not in ALLOWED:
        raise InputError(f"不支持的文件类型 {ext or '(无扩展名)'}", field="file",
                         hint="可上传:" + "、".join(sorted(ALLOWED)))
    if not data:
        raise InputError("文件为空", field="file")
    if len(data) > max_bytes:
        raise InputError(f"文件过大:{len(data)} 字节,上限 {max_bytes} 字节", field="file")
    content_type, magics = ALLOWED[ext]
    if not any(data.startswith(m) for m in magics):
        raise InputError(f"文件内容与扩展名 {ext} 不符", field="file")
    digest = hashlib.sha256(data).hexdigest()
    target = store / digest[:2] / digest
    if not target.exists():
        with atomic_path(target) as tmp:
            tmp.write_bytes(data)
    att_id = int(conn.execute(sa.insert(wf_attachments).values(
        application_id=app_id, document=document, filename=name, content_type=content_type, size=len(data),
        sha256=digest, storage_path=str(target), uploaded_by=who.username, uploaded_at=utc_now(),
    ).returning(wf_attachments.c.id)).scalar_one())
    conn.execute(sa.update(wf_applications).where(wf_applications.c.id == app_id).values(updated_at=utc_now()))
    audit.record(conn, actor=who.username, action="attachment.add", entity="application", entity_id=str(app_id),
                 before=None, after={"attachment": att_id, "document": document, "filename": name,
                                     "size": len(data), "sha256": digest})
    return {"id": att_id, "document": document, "filename": name, "content_type": content_type,
            "size": len(data), "sha256": digest}


def attachment_file(conn: sa.Connection, who: Any, app_id: int, att_id: int) -> tuple[Any, bytes]:
    """(row, bytes) after checking scope and that the stored file still matches its checksum."""
    get_application(conn, who, app_id)
    row = conn.execute(sa.select(wf_attachments).where(wf_attachments.c.id == att_id,
                                                       wf_attachments.c.application_id == app_id)).first()
    if row is None:
        from huiqi.errors import NotFoundError

        raise NotFoundError(f"材料 {att_id} 不存在", field="attachment")
    data = Path(row.storage_path).read_bytes()
    if hashlib.sha256(data).hexdigest() != row.sha256:
        raise StateError("材料文件校验和不符(文件被改动)", field="attachment")
    return row, data
