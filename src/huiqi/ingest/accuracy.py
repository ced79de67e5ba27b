"""Score ingestion against hand-written gold annotations (precision / recall per field).

Gold files (``tests/gold/*.yaml``) are written by a person from the document text;
the format is documented in ``docs/formats.md``. Matching is by measure key (the
label path, e.g. ``二/十``) so a mis-nested measure counts as both a miss and a false
positive — nesting errors are real errors for citations.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from huiqi.document import Comparator, Document, ProvisionKind

MONEY_KINDS = {
    ProvisionKind.AMOUNT,
    ProvisionKind.CAP,
    ProvisionKind.THRESHOLD,
    ProvisionKind.RANGE,
    ProvisionKind.PER_UNIT,
}


@dataclass
class Score:
    true_positive: int = 0
    predicted: int = 0
    gold: int = 0
    misses: list[str] = field(default_factory=list)
    extras: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.true_positive / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.true_positive / self.gold if self.gold else 1.0

    def add(self, other: Score) -> None:
        self.true_positive += other.true_positive
        self.predicted += other.predicted
        self.gold += other.gold
        self.misses.extend(other.misses)
        self.extras.extend(other.extras)


def _multiset_score(pred: Iterable[Any], gold: Iterable[Any], label: str = "") -> Score:
    p, g = Counter(pred), Counter(gold)
    tp = sum((p & g).values())
    return Score(
        true_positive=tp,
        predicted=sum(p.values()),
        gold=sum(g.values()),
        misses=[f"{label}{k}" for k in (g - p).elements()],
        extras=[f"{label}{k}" for k in (p - g).elements()],
    )


def _norm_title(s: str | None) -> str:
    return "".join(ch for ch in (s or "") if ch.isalnum())


def _dec(v: Any) -> str:
    if v is None:
        return "-"
    return str(Decimal(str(v)).normalize())


def score_document(doc: Document, gold: dict[str, Any]) -> dict[str, Score]:
    scores: dict[str, Score] = {}
    label = f"{gold.get('file', '')}:"

    gold_measures = gold.get("measures") or []
    scores["measures"] = _multiset_score([m.key for m in doc.measures], [g["key"] for g in gold_measures], label)
    pred_titles = {m.key: m.title for m in doc.measures}
    scores["measure_titles"] = _multiset_score(
        [(k, _norm_title(t)) for k, t in pred_titles.items()],
        [(g["key"], _norm_title(g.get("title"))) for g in gold_measures if "title" in g],
        label,
    )
    # Units: one fact per (measure, unit, role); only measures the gold annotates.
    pred_units: list[tuple[str, str, str]] = []
    gold_units: list[tuple[str, str, str]] = []
    annotated = {g["key"] for g in gold_measures}
    for m in doc.measures:
        if m.key not in annotated:
            continue
        pred_units += [(m.key, u, "all") for u in m.units.all]
        pred_units += [(m.key, u, "lead") for u in m.units.lead]
        pred_units += [(m.key, u, "support") for u in m.units.support]
    for g in gold_measures:
        u = g.get("units") or {}
        gold_units += [(g["key"], x, "all") for x in u.get("all") or []]
        gold_units += [(g["key"], x, "lead") for x in u.get("lead") or []]
        gold_units += [(g["key"], x, "support") for x in u.get("support") or []]
    scores["units"] = _multiset_score(pred_units, gold_units, label)

    # Money: identified by (measure, amount); correct only with the right kind, comparator
    # and upper-bound flag.
    def money_key(measure: str, kind: str, yuan: Any, low: Any, high: Any, per: Any) -> tuple[str, ...]:
        if kind == "range":
            amount = f"{_dec(low)}..{_dec(high)}"
        else:
            amount = _dec(yuan)
        return (measure, amount, per or "")

    pred_money: list[tuple[str, ...]] = []
    pred_money_full: list[tuple[str, ...]] = []
    for m in doc.measures:
        for p in m.provisions:
            if p.kind not in MONEY_KINDS:
                continue
            if p.yuan is None and p.low_yuan is None and p.high_yuan is None:
                continue
            key = money_key(m.key, p.kind.value, p.yuan, p.low_yuan, p.high_yuan, p.per)
            pred_money.append(key)
            pred_money_full.append(
                (*key, p.kind.value, p.comparator.value if p.comparator else "-", str(bool(p.upper_bound)))
            )
    gold_money: list[tuple[str, ...]] = []
    gold_money_full: list[tuple[str, ...]] = []
    for g in gold.get("money") or []:
        key = money_key(g["measure"], g["kind"], g.get("yuan"), g.get("low_yuan"), g.get("high_yuan"), g.get("per"))
        gold_money.append(key)
        comparator = g.get("comparator") or "-"
        gold_money_full.append((*key, g["kind"], comparator, str(bool(g.get("upper_bound", False)))))
    scores["money_found"] = _multiset_score(pred_money, gold_money, label)
    scores["money"] = _multiset_score(pred_money_full, gold_money_full, label)

    if "bands" in gold:
        scores["bands"] = _score_bands(doc, gold, label)
    if "other" in gold:
        scores["other_kinds"] = _score_other(doc, gold, label)

    meta = gold.get("metadata") or {}
    meta_pred: list[tuple[str, str]] = []
    meta_gold: list[tuple[str, str]] = []
    for name in ("title", "doc_number", "signed_date", "published_date", "effective_from", "effective_to", "status"):
        if name not in meta:
            continue
        got = getattr(doc, name)
        meta_pred.append((name, _norm_title(str(got)) if got is not None else "null"))
        want = meta[name]
        meta_gold.append((name, _norm_title(str(want)) if want is not None else "null"))
    if "issuers" in meta:
        meta_pred += [("issuer", _norm_title(x)) for x in doc.issuers]
        meta_gold += [("issuer", _norm_title(x)) for x in meta["issuers"] or []]
    if "region" in meta:
        for part in ("province", "city", "county"):
            meta_pred.append((part, str(getattr(doc.region, part))))
            meta_gold.append((part, str((meta["region"] or {}).get(part))))
    scores["metadata"] = _multiset_score(meta_pred, meta_gold, label)

    pred_targets = [(t.measure or "-", _dec(t.value)) for t in doc.targets]
    gold_targets = [(g.get("measure") or "-", _dec(g["value"])) for g in gold.get("targets") or []]
    scores["targets"] = _multiset_score(pred_targets, gold_targets, label)
    pred_t_full = [
        (t.measure or "-", _dec(t.value), t.comparator.value if t.comparator else "-", str(t.year)) for t in doc.targets
    ]
    gold_t_full = [
        (g.get("measure") or "-", _dec(g["value"]), g.get("comparator") or "-", str(g.get("year")))
        for g in gold.get("targets") or []
    ]
    scores["targets_detail"] = _multiset_score(pred_t_full, gold_t_full, label)
    return scores


def _score_bands(doc: Document, gold: dict[str, Any], label: str) -> Score:
    """Bands of tier tables: both ends with their inclusiveness, and the money of the band."""
    def key(measure: str, low: Any, high: Any, low_inc: Any, high_inc: Any, band: Any) -> tuple[str, ...]:
        return (measure, f"{_dec(low)}..{_dec(high)}", f"{low_inc}/{high_inc}", _dec(band))

    pred: list[tuple[str, ...]] = []
    for m in doc.measures:
        for p in m.provisions:
            if p.band_yuan is None and not (p.kind == ProvisionKind.RANGE and p.low_yuan is not None):
                continue
            if p.kind == ProvisionKind.RANGE:
                pred.append(key(m.key, p.low_yuan, p.high_yuan, p.low_inclusive, p.high_inclusive, p.band_yuan))
            else:  # an open-ended top band: X以上
                low_inc = p.comparator == Comparator.GE
                pred.append(key(m.key, p.yuan, None, low_inc, None, p.band_yuan))
    wanted = [
        key(g["measure"], g.get("low_yuan"), g.get("high_yuan"), g.get("low_inclusive"), g.get("high_inclusive"),
            g.get("band_yuan"))
        for g in gold.get("bands") or []
    ]
    return _multiset_score(pred, wanted, label)


def _score_other(doc: Document, gold: dict[str, Any], label: str) -> Score:
    """Kinds other than money (rates, quantities, time limits) with value and comparator, for the
    (measure, kind) pairs the gold annotates."""
    entries = gold.get("other") or []
    annotated = {(g["measure"], g["kind"]) for g in entries}
    pred = [
        (m.key, p.kind.value, _dec(p.value), p.comparator.value if p.comparator else "-")
        for m in doc.measures
        for p in m.provisions
        if (m.key, p.kind.value) in annotated
    ]
    wanted = [(g["measure"], g["kind"], _dec(g.get("value")), g.get("comparator") or "-") for g in entries]
    return _multiset_score(pred, wanted, label)


def load_gold(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    if not isinstance(data, dict) or "file" not in data:
        raise ValueError(f"{path}: gold file must be a mapping with a 'file' key")
    return data


def score_corpus(pairs: Iterable[tuple[Document, dict[str, Any]]]) -> dict[str, Score]:
    total: dict[str, Score] = {}
    for doc, gold in pairs:
        for name, score in score_document(doc, gold).items():
            total.setdefault(name, Score()).add(score)
    return total


def format_report(scores: dict[str, Score]) -> str:
    lines = [f"{'field':<16}{'precision':>10}{'recall':>10}{'gold':>7}{'pred':>7}"]
    for name, s in scores.items():
        lines.append(f"{name:<16}{s.precision:>10.1%}{s.recall:>10.1%}{s.gold:>7}{s.predicted:>7}")
    return "\n".join(lines)
