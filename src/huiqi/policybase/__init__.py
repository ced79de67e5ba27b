"""The policy base: structured documents stored in SQLite (default) or PostgreSQL."""

from huiqi.policybase.db import connect
from huiqi.policybase.queries import (
    MatrixRow,
    SearchHit,
    TargetRow,
    export_matrix_xlsx,
    matrix_pivot,
    responsibility_matrix,
    search,
    targets,
)
from huiqi.policybase.store import DocumentSummary, PolicyBase, SaveResult

__all__ = [
    "DocumentSummary",
    "MatrixRow",
    "PolicyBase",
    "SaveResult",
    "SearchHit",
    "TargetRow",
    "connect",
    "export_matrix_xlsx",
    "matrix_pivot",
    "responsibility_matrix",
    "search",
    "targets",
]
