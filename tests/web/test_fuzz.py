"""OpenAPI fuzzing (schemathesis + hypothesis): no input makes the API answer 500.

Every operation of /openapi.json is called with generated data, anonymously and with an
administrator's bearer token (so the protected routes get past 401 and see the input).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings

from huiqi.store.db import write_tx
from huiqi.web.app import create_app
from huiqi.web.auth import add_user, issue_token
from huiqi.web.settings import Settings

_TMP = Path(tempfile.mkdtemp(prefix="huiqi-fuzz-"))
atexit.register(shutil.rmtree, _TMP, True)
APP = create_app(Settings(db=f"sqlite:///{_TMP / 'fuzz.db'}", var_dir=_TMP / "var", log_json=False,
                          login_max_failures=10_000))
with write_tx(APP.state.engine) as _conn:
    _uid = add_user(_conn, "fuzz-admin", "admin", "fuzz-password-1", actor="test")
    from huiqi.web.auth import Principal

    TOKEN, _ = issue_token(_conn, Principal(_uid, "fuzz-admin", "admin"), days=1)

schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_anonymous(case) -> None:  # type: ignore[no-untyped-def]
    response = case.call()
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text[:500]}"


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_signed_in(case) -> None:  # type: ignore[no-untyped-def]
    response = case.call(headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text[:500]}"
