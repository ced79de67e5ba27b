"""Round close decisions: cohort rank/quota, the round's quota, then the fund pool."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from huiqi.profile import Profile, load_cohort
from huiqi.rules.packs import RuleBase, load_packs
from huiqi.workflow.decide import Candidate, allocate_pool, apply_round_quota, decide_round, evaluate_claims
from huiqi.workflow.model import QuotaSpec

ROOT = Path(__file__).resolve().parents[2]
ON = date(2019, 6, 1)
RANK = "shiyan.auto.parts_passenger"
COUNTY = "shiyan.tech_upgrade.smart_county"


@pytest.fixture(scope="module")
def rulebase() -> RuleBase:
    return load_packs()


@pytest.fixture(scope="module")
def cohort() -> list[Profile]:
    return load_cohort(ROOT / "examples" / "applicants-shiyan.csv")


def candidates(cohort: list[Profile]) -> list[Candidate]:
    out = []
    for i, p in enumerate(cohort):
        if p.projects:
            out.append(Candidate(i, p, COUNTY, p.projects[0].id, p.region.county, p.region.district, i))
        elif p.enterprise.get("auto_parts"):
            out.append(Candidate(i, p, RANK, "enterprise", p.region.county, p.region.district, i))
    return out


def test_rank_and_rule_quota_decided_over_cohort(rulebase: RuleBase, cohort: list[Profile]) -> None:
    claims = {c.key: c for c in evaluate_claims(rulebase, candidates(cohort), ON)}
    # 8000万 / 5200万 / 3100万 are the top three; 2600万 is fourth; 2400万 misses the 2500万 threshold
    assert [(claims[k].supported, claims[k].claim) for k in range(5)] == [
        (True, 500_000), (True, 300_000), (True, 200_000), (False, 0), (False, 0)]
    assert "未进入前3名" in claims[3].reason
    # 竹山县: two per county (rule quota), larger equipment investment first
    assert claims[7].supported and claims[8].supported and not claims[9].supported
    assert "名额已满" in claims[9].reason
    # (500万 + 400万×50%) × 4.35%
    assert claims[7].claim == (5_000_000 + 4_000_000 // 2) * 435 // 10_000


def test_department_amount_lowers_the_claim(rulebase: RuleBase, cohort: list[Profile]) -> None:
    cands = candidates(cohort)
    cands[0].approved = 123_456
    cands[1].approved = 999_999_999  # above the computed amount: ignored, never raises the claim
    claims = {c.key: c for c in evaluate_claims(rulebase, cands, ON)}
    assert claims[0].claim == 123_456 and "核定" in claims[0].notes[0]
    assert claims[1].claim == 300_000


def test_round_quota_per_district(rulebase: RuleBase, cohort: list[Profile]) -> None:
    claims = evaluate_claims(rulebase, candidates(cohort), ON)
    apply_round_quota(claims, QuotaSpec(per="district", limit=1))
    by_district: dict[str, int] = {}
    for c in claims:
        if c.supported and c.district:
            by_district[c.district] = by_district.get(c.district, 0) + 1
    assert by_district and max(by_district.values()) == 1
    # county applicants are not touched by a per-district quota
    assert sum(1 for c in claims if c.supported and c.county == "竹山县") == 2


@pytest.mark.parametrize("method", ["pro_rata", "rank", "first_come"])
def test_pool_never_overspent_and_exact(rulebase: RuleBase, cohort: list[Profile], method: str) -> None:
    decision = decide_round(rulebase, candidates(cohort), ON, quota=None, method=method, balance=700_001)
    assert decision.allocated == 700_001  # oversubscribed: the whole balance, to the yuan
    assert decision.balance_after == 0
    for c in decision.claims:
        assert 0 <= c.allocated <= c.claim
        assert c.supported == (c.allocated > 0)
        if not c.supported:
            assert c.reason


def test_pool_large_enough_pays_in_full(rulebase: RuleBase, cohort: list[Profile]) -> None:
    decision = decide_round(rulebase, candidates(cohort), ON, quota=None, method="pro_rata", balance=30_000_000)
    assert all(c.allocated == c.claim for c in decision.claims)
    assert decision.balance_after == 30_000_000 - decision.allocated


def test_first_come_follows_submission_order() -> None:
    from huiqi.workflow.decide import Claim

    claims = [Claim(k, "r", None, "x", order, claim=100) for k, order in ((1, 2), (2, 0), (3, 1))]
    allocate_pool(claims, 150, "first_come")
    assert {c.key: c.allocated for c in claims} == {2: 100, 3: 50, 1: 0}
    assert "资金池余额不足" in next(c for c in claims if c.key == 1).reason
