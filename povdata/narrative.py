"""A short paragraph per unit (and for the province) saying where it stands, in either
language — written from the same engine as the charts and the scorecard, never from numbers
of its own.

"Năm 2025, tỷ lệ hộ nghèo 2,32%, giảm 1,04 điểm % so với 2024. Bình quân giai đoạn
2021-2025 (số liệu đến 2025) giảm 2,47 điểm %/năm, chưa đạt chỉ tiêu giảm ít nhất 3 điểm
%/năm."

The numbers come from :func:`povdata.views.series` / :func:`povdata.indicators.with_previous_year`
(the rate and its change, as on the profile chart) and :func:`povdata.verdicts.unit_verdicts`
(the period's pace, the rule and the status, as on the map and the scorecard).
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from povdata.i18n import fmt_pace, fmt_pp, fmt_rate, t
from povdata.indicators import with_previous_year
from povdata.targets import TargetsConfig


@dataclass(frozen=True)
class Narrative:
    """The paragraph and the figures in it (for tests and exports)."""
    text: str
    year: int | None
    rate: float | None
    change_pp: float | None
    period_id: str | None
    as_of: int | None
    achieved_pp_per_year: float | None
    target_value: float | None
    status: str | None
    basis: str | None


def _f(x) -> float | None:
    return None if x is None or pd.isna(x) else float(x)


def unit_narrative(levels: pd.DataFrame, cfg: TargetsConfig, unit_code: str, year: int,
                   lang: str = "vi", published: pd.DataFrame | None = None) -> Narrative:
    """The paragraph for ``unit_code`` (province, district or commune) for the review ``year``.
    ``published``: the published figures; where one exists for the unit and year it is the
    rate said (as on the KPI cards, :func:`povdata.views.official_figure`)."""
    from povdata.views import official_figure
    from povdata.verdicts import period_for_year, unit_verdicts

    rows = levels[levels["unit_code"] == unit_code]
    if rows.empty:
        return Narrative(t("narrative.no_data", lang, year=year), None, None, None, None, None, None, None, None, None)
    level = str(rows["level"].iloc[0])
    s = with_previous_year(rows, "poverty_rate")
    cur = s[(s["year"] == year) & s["poverty_rate"].notna()]
    parts: list[str] = []
    rate = change = None
    if cur.empty:
        parts.append(t("narrative.no_data", lang, year=year))
    else:
        r = cur.iloc[-1]
        off = official_figure(rows, published, unit_code, year, "poverty_rate", lang)
        rate, change = off.value, off.change
        est = " " + t("narrative.estimate", lang) if bool(r.get("reconstructed", False)) else ""
        if off.source is not None:
            est += " " + t("narrative.published", lang, source=off.source)
        before = s[(s["year"] == year - 1) & s["poverty_rate"].notna()]
        if change is None and len(before) and str(before["standard"].iloc[-1]) != str(r["standard"]):
            from povdata.standards import standard_label
            parts.append(t("narrative.rate_new_standard", lang, year=year, rate=fmt_rate(rate, lang),
                           standard=_lower_first(standard_label(r["standard"], lang), lang)) + est + ".")
        elif change is None:
            parts.append(t("narrative.rate", lang, year=year, rate=fmt_rate(rate, lang)) + est + ".")
        else:
            key = "narrative.rate_down" if change < 0 else ("narrative.rate_up" if change > 0 else "narrative.rate_same")
            parts.append(t(key, lang, year=year, rate=fmt_rate(rate, lang), change=fmt_pp(abs(change), lang),
                           prev=year - 1) + est + ".")
    period = period_for_year(cfg, year)
    if period is None:  # the baseline year of a new period: the period just finished, judged at its end
        done = [p for p in cfg.periods if any(x.is_rate_rule for x in p.targets) and p.end < year
                and p.end - p.baseline_year > 1]
        period = max(done, key=lambda p: (p.end, p.end - p.start)) if done else None
    v = None
    if period is not None:
        card = unit_verdicts(levels, cfg, level, min(year, period.end), period_id=period.id)
        hit = card[card["unit_code"] == unit_code] if len(card) else card
        v = hit.iloc[0] if len(hit) else None
    if period is not None and v is not None and v["status"] not in ("no_data", "not_applicable") \
            and _f(v["achieved_pp_per_year"]) is not None:
        target = next((x for x in period.targets if x.id == v["target_id"]), None)
        rule = _rule_phrase(target, lang) if target is not None else ""
        ref = " " + t("narrative.province_reference", lang) if v.get("basis") == "reference" else ""
        parts.append(t("narrative.period", lang, period=period.id, as_of=int(v["as_of"]),
                       pace=fmt_pace(v["achieved_pp_per_year"], lang),
                       verdict=t(f"narrative.status_{v['status']}", lang), rule=rule) + ref + ".")
    elif period is not None and v is not None and v["status"] == "no_data":
        parts.append(t("narrative.period_no_data", lang, period=period.id) + ".")
    if level == "district":
        from povdata.designations import designated, exits
        d = designated(cfg.decisions, unit_code, year, "poor_district")
        if d is not None:
            parts.append(t("narrative.poor_district", lang, number=d.number, start=d.period_start, end=d.period_end)
                         + ".")
        gone = exits(cfg.decisions, "poor_district", year).get(unit_code)
        if gone is not None:
            parts.append(t("narrative.exited", lang, number=gone.number, date=gone.date) + ".")
    text = " ".join(parts)
    return Narrative(text, year if rate is not None else None, rate, change,
                     period.id if period is not None else None, int(v["as_of"]) if v is not None else None,
                     _f(v["achieved_pp_per_year"]) if v is not None else None,
                     _f(v["target_value"]) if v is not None else None,
                     str(v["status"]) if v is not None else None, v.get("basis") if v is not None else None)


def _num(x: float, lang: str) -> str:
    """3 → '3', 2.5 → '2,5', 0.75 → '0,75' (a target as the resolution writes it)."""
    from povdata.i18n import fmt_number
    x = float(x)
    decimals = 0 if x == int(x) else (1 if round(x, 1) == x else 2)
    return fmt_number(x, lang, decimals)


def _rule_phrase(target, lang: str) -> str:
    if target.is_range:
        return t("narrative.rule_between", lang, low=_num(target.value, lang), high=_num(target.value_high, lang))
    key = "narrative.rule_greater" if target.strict else "narrative.rule_at_least"
    return t(key, lang, value=_num(target.value, lang))


def _lower_first(text: str, lang: str) -> str:
    """'Chuẩn nghèo đa chiều …' inside a Vietnamese sentence: 'chuẩn nghèo đa chiều …'."""
    return text[:1].lower() + text[1:] if lang == "vi" and text else text
