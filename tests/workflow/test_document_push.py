"""政策找企业 on ingestion: uploading a NEW document pushes its rules to enterprises with saved profiles."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from huiqi.profile import load_profile
from huiqi.rules.packs import load_packs
from huiqi.store.audit import verify
from huiqi.store.schema import audit_log
from huiqi.workflow.push import SavedProfile, match_profiles
from tests.web.conftest import ROOT

SHIYAN_SEED = "002_00eec2e948361586.txt"
AUTO = "91420300AUTO0001"
LINHAI = "91331082LINHAI01"


def upload(client: Any, headers: dict[str, str], name: str) -> Any:
    from tests.conftest import seeds_dir

    content = (seeds_dir() / name).read_bytes()
    return client.post("/api/v1/documents", headers=headers, files={"file": (name, content, "text/plain")})


def test_new_document_pushes_messages(client: Any, login: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUIQI_TODAY", "2019-06-01")  # the 十堰 draft is in force 2018–2020
    auto = login(client, AUTO, "enterprise", enterprise=AUTO)
    linhai = login(client, LINHAI, "enterprise", enterprise=LINHAI)
    dept = login(client, "dept", "department", department="市经信委")
    auto_profile = yaml.safe_load((ROOT / "examples" / "shiyan-auto-parts.yaml").read_text(encoding="utf-8"))
    r = client.post("/api/v1/profiles", json={"name": "本企业", "profile": auto_profile}, headers=auto)
    assert r.status_code == 200, r.text
    linhai_profile = {"name": "临海某企业", "region": {"province": "浙江省", "city": "台州市", "county": "临海市"}}
    assert client.post("/api/v1/profiles", json={"name": "本企业", "profile": linhai_profile},
                       headers=linhai).status_code == 200

    r = upload(client, dept, SHIYAN_SEED)
    assert r.status_code == 200, r.text
    doc, pushed = r.json()["documents"][0], r.json()["pushed_messages"]
    assert doc["action"] == "new"

    inbox = client.get("/api/v1/messages", headers=auto).json()
    by_rule = {m["rule"]: m for m in inbox}
    # what the calculator says for this profile and the 十堰 pack, computed independently of the route
    rb = load_packs()
    expected = match_profiles(rb, [SavedProfile(AUTO, load_profile(ROOT / "examples" / "shiyan-auto-parts.yaml"))],
                              sorted(rb.select(["shiyan-2018-draft"]).rule_ids or ()), date(2019, 6, 1))
    assert expected and set(by_rule) == {m.rule for m in expected} and len(inbox) == len(by_rule)
    assert pushed == len(inbox)
    smart = by_rule["shiyan.tech_upgrade.smart"]
    assert smart["kind"] == "granted" and smart["amount"] == 413_250 and smart["clause"] == "三/三/1/—2"
    assert "预计可获413250元" in smart["body"] and smart["round_id"] is None
    equipment = by_rule["shiyan.emerging.high_end_equipment"]
    assert equipment["kind"] == "undecided" and equipment["upper_bound"] and equipment["amount"] == 500_000
    assert "高端智能装备销售收入" in equipment["body"]
    # a 临海 enterprise is not told about 十堰 money; officials have no inbox
    assert client.get("/api/v1/messages", headers=linhai).json() == []
    assert client.get("/api/v1/messages", headers=dept).json() == []

    engine = client.app.state.engine
    with engine.connect() as conn:
        pushes = conn.execute(sa.select(audit_log.c.actor, audit_log.c.entity_id).where(
            audit_log.c.action == "push.send", audit_log.c.entity == "document")).all()
        assert [tuple(p) for p in pushes] == [("dept", doc["id"])]
        assert verify(conn).ok

    # uploading the same file again is "unchanged": no second push
    again = upload(client, dept, SHIYAN_SEED).json()
    assert again["documents"][0]["action"] == "unchanged" and again["pushed_messages"] == 0
    assert len(client.get("/api/v1/messages", headers=auto).json()) == len(inbox)


def test_document_no_pack_cites_pushes_nothing(client: Any, login: Any, tmp_path: Any) -> None:
    auto = login(client, AUTO, "enterprise", enterprise=AUTO)
    dept = login(client, "dept", "department", department="市经信委")
    auto_profile = yaml.safe_load((ROOT / "examples" / "shiyan-auto-parts.yaml").read_text(encoding="utf-8"))
    client.post("/api/v1/profiles", json={"name": "本企业", "profile": auto_profile}, headers=auto)
    text = ("某县关于做好春季森林防火工作的通知\n\n"
            "一、各乡镇要落实防火责任,加强巡查。\n二、严禁野外用火,发现火情及时报告。\n")
    r = client.post("/api/v1/documents", headers=dept,
                    files={"file": ("fire.txt", text.encode("utf-8"), "text/plain")})
    assert r.status_code == 200, r.text
    assert r.json()["documents"][0]["action"] == "new" and r.json()["pushed_messages"] == 0
    assert client.get("/api/v1/messages", headers=auto).json() == []
