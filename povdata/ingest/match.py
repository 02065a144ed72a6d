"""Step 5: each row to a unit of the registry (:func:`registry`): by code, else by name
within its district (the row's parent column, the heading above it, or the district the
form's title names), with method and confidence; a code given but unknown is never
re-matched by name silently.
"""
from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from povdata.messages import Msg, with_messages
from povdata.names import fold, match_names, name_key
from povdata.unit_history import former_unit
from povdata.units import legacy_units, units_2025
from povdata.validate import shorten
from povdata.reform import REFORM_YEAR
from povdata.ingest.header import Header, _type_of


NATIONAL = "00"  # the whole country: every province's units


def registry(province_code: str, era: str) -> pd.DataFrame:
    """Units of a province in one era (``legacy``: province, districts, communes before
    2025-07-01; ``2025``: province and communes after it); :data:`NATIONAL` for all."""
    from povdata.provinces import former_provinces, legacy_units_of

    code = None if province_code == NATIONAL else province_code
    if era == "legacy" and code is not None and former_provinces(code):
        return legacy_units_of(code)  # a province in force: all its former provinces' units
    return legacy_units(code) if era == "legacy" else units_2025(code)


def era_of_year(year: float | None, default: str = "legacy") -> str:
    """The unit list a review year is reported on: ``legacy`` before :data:`REFORM_YEAR`
    (the year-end 2025 review is the first on the communes of 1 July 2025), ``2025`` from it."""
    if year is None or pd.isna(year):
        return default
    return "legacy" if year < REFORM_YEAR else "2025"


MATCH_COLUMNS = ["_row", "input_code", "input_name", "parent", "level", "code", "matched_name", "method",
                 "score", "note", "era"]


def district_in_title(cells: pd.DataFrame, header: Header, province_code: str, era: str) -> str | None:
    """The district a form's title block names ("UBND HUYỆN TRÀNG ĐỊNH", "… của UBND huyện
    Tràng Định"), when it names exactly one of the province's districts: the communes of the
    form are looked for in it first."""
    if era != "legacy" or header.first == 0:
        return None
    text = " " + re.sub(r"\s+", " ", fold(" ".join(str(v) for v in cells.iloc[:header.first].values.ravel() if v))) + " "
    reg = registry(province_code, era)
    named = {c for c, n in zip(reg.loc[reg["level"] == "district", "code"], reg.loc[reg["level"] == "district", "name"])
             if f" {fold(n)} " in text or f" {fold(n)}," in text or f" {fold(n)})" in text}
    return named.pop() if len(named) == 1 else None


def match_units(table: pd.DataFrame, province_code: str, era: str,
                aliases: dict[str, str | None] | None = None, district: str | None = None) -> pd.DataFrame:
    """Match each row to a unit of the province's registry for ``era``.

    By code first (a code of the list, or the province's own code); else by name
    (:func:`povdata.names.match_names`): a name with a district type ('Huyện …') among
    the districts, others among the communes of their district (the row's parent column
    or the district heading above it) and, failing that, of the whole province.

    Returns one row per input row: :data:`MATCH_COLUMNS`; ``method`` is ``code``,
    ``name``, ``similar`` (fuzzy, ``score`` < 1) or ``none``.
    """
    reg = registry(province_code, era)
    districts = reg[reg["level"] == "district"]
    communes = reg[reg["level"] == "commune"]
    reg_name = dict(zip(reg["code"], reg["name"]))
    reg_level = dict(zip(reg["code"], reg["level"]))
    n = len(table)
    empty = [""] * n
    codes = table["unit_code"].map(_norm_code).tolist() if "unit_code" in table else empty
    names = [str(x or "") for x in table["unit_name"]] if "unit_name" in table else empty
    parent_names = table["parent_name"].tolist() if "parent_name" in table else empty
    parent_codes = table["parent_code"].map(_norm_code).tolist() if "parent_code" in table else empty
    heading = table["_heading"].tolist() if "_heading" in table else empty
    # plain lists, filled row by row and framed once at the end
    R: dict[str, list[Any]] = {"code": [None] * n, "matched_name": [None] * n, "level": [None] * n, "method": ["none"] * n,
         "score": [0.0] * n, "note": [""] * n, "parent": [p or h for p, h in zip(parent_names, heading)]}

    def put(i: int, code: str, level: str, method: str, score: float, note: object = "") -> None:
        R["code"][i], R["matched_name"][i], R["level"][i] = code, reg_name[code], level
        R["method"][i], R["score"][i], R["note"][i] = method, float(score), note

    key_cache: dict[str, str] = {}

    def key(s: str) -> str:
        k = key_cache.get(s)
        if k is None:
            k = key_cache[s] = name_key(s)
        return k

    # by code
    for i, c in enumerate(codes):
        if c and c in reg_name:
            note = Msg("match.other_name") if names[i] and key(names[i]) != key(reg_name[c]) else ""
            put(i, c, reg_level[c], "code", 1.0, note)
    # in file order: districts (by type, or by name where no parent is given) set the
    # district of the commune rows below them
    dist_codes = set(districts["code"])
    dist_key = {name_key(nm): c for c, nm in zip(districts["code"], districts["name"])}
    prov = reg[reg["level"] == "province"]
    prov_key = name_key(prov["name"].iloc[0]) if len(prov) == 1 else None
    ctx: str | None = district if district in set(districts["code"]) else None  # named in the title
    parent_of: dict[int, str | None] = {}
    old_provinces = set(reg.loc[reg["level"] == "province", "code"])
    for i in range(n):
        if R["method"][i] == "code":
            if R["level"][i] == "district":
                ctx = R["code"][i]
            continue
        nm = names[i]
        if not nm:
            R["note"][i] = Msg("match.no_code_no_name")
            continue
        if aliases and key(nm) in aliases and (aliases[key(nm)] or "") in reg_name:
            c = aliases[key(nm)] or ""  # the user's own choice at an earlier import, shown as such
            put(i, c, reg_level[c], "remembered", 1.0, Msg("match.remembered"))
            if reg_level[c] == "district":
                ctx = c
            continue
        if prov_key and key(nm) == prov_key and fold(nm).startswith("tinh "):
            put(i, prov["code"].iloc[0], "province", "name", 1.0)
            continue
        t = _type_of(nm)
        given = parent_codes[i] or R["parent"][i]
        if t == "district" or (t is None and key(nm) in dist_key and not given):
            m = match_names([nm], districts).iloc[0]
            if _has(m["code"]):
                put(i, m["code"], "district", m["method"], m["score"], m["note"])
                ctx = m["code"]
                continue
            gone = former_unit(old_provinces, nm, codes[i]) if era == "legacy" else None
            if gone is not None:  # a district abolished before 2025: said, left out, never merged silently
                R["method"][i], R["note"][i], R["level"][i] = "former", gone.reason(), "district"
                ctx = None
                continue
        pc, parent = parent_codes[i], R["parent"][i]
        if pc in dist_codes:
            pcode = pc
        elif parent:
            pcode = dist_key.get(key(parent))
            if pcode is None:
                got = match_names([parent], districts).iloc[0]["code"]
                pcode = got if _has(got) else None
        else:
            pcode = ctx
        if pcode and not R["parent"][i]:
            R["parent"][i] = reg_name[pcode]
        parent_of[i] = pcode
    # the total row of a rate table: the province (for a merged province, the former
    # province whose districts the other rows are in)
    total_rows: Any = np.flatnonzero(table["_total"].to_numpy()) if "_total" in table else []
    if len(total_rows):
        provs = reg[reg["level"] == "province"]
        if len(provs) > 1:
            got = {c for c in R["code"] if c}
            owners = set(reg.loc[reg["code"].isin(got) & (reg["level"] != "province"), "province_code"])
            provs = provs[provs["code"].isin(owners)] if len(owners) == 1 else provs.iloc[0:0]
        for i in total_rows:
            parent_of.pop(i, None)
            R["parent"][i] = ""
            if len(provs) == 1:
                put(i, provs["code"].iloc[0], "province", "total", 1.0, Msg("match.province_row"))
            else:
                R["note"][i] = Msg("match.province_row_unknown")
    # communes, grouped by parent
    groups: dict[str | None, list[int]] = {}
    for i, p in parent_of.items():
        groups.setdefault(p, []).append(i)
    for p, idx in groups.items():
        within = p is not None and era == "legacy"
        cand = communes[communes["parent_code"] == p] if within else communes
        m = match_names([names[i] for i in idx], cand).to_dict("records")
        if within:  # not in the district given: exact names elsewhere in the province
            retry = [k for k, r in enumerate(m) if not _has(r["code"])]
            if retry:
                m2 = match_names([names[idx[k]] for k in retry], communes).to_dict("records")
                for k, r2 in zip(retry, m2):
                    if _has(r2["code"]) and r2["method"] == "name":
                        m[k] = r2 | {"note": Msg("match.outside_district"),
                                     "score": min(float(r2["score"]), 0.8)}
        for k, i in enumerate(idx):
            r = m[k]
            if _has(r["code"]):
                put(i, r["code"], "commune", r["method"], r["score"], r["note"])
            else:
                R["note"][i] = r["note"] or Msg("match.not_found")
    # a code that is given but is no unit of the list: never re-matched by name silently; the
    # name's candidate is offered for review, the row blocks until the user decides
    for i, c in enumerate(codes):
        if c and c not in reg_name and R["method"][i] not in ("former", "total"):
            cand = Msg("match.candidate", name=R['matched_name'][i], code=R['code'][i]) if R["code"][i] else ""
            R["code"][i], R["matched_name"][i], R["level"][i] = None, None, None
            R["method"][i], R["score"][i] = "none", 0.0
            R["note"][i] = Msg("match.unknown_code", code=shorten(c, 20), candidate=cand)
    res = pd.DataFrame({"_row": table["_row"].to_numpy() if "_row" in table else np.arange(n) + 2,
                        "input_code": codes, "input_name": names, **R, "era": era})
    return with_messages(res, "note", R["note"])[MATCH_COLUMNS]


def _has(code: object) -> bool:
    return isinstance(code, str) and bool(code)


def _norm_code(text: object) -> str:
    from povdata.validate import normalize_code
    t = "" if text is None or (isinstance(text, float) and np.isnan(text)) else str(text)
    return normalize_code(t) if t.strip() else ""


def apply_overrides(matches: pd.DataFrame, overrides: dict[int, str | None], province_code: str,
                    era: str) -> pd.DataFrame:
    """Matches with the user's choices: ``{spreadsheet row: code}`` (None or '' = leave the
    row unmatched).  Overridden rows get method ``manual``."""
    if not overrides:
        return matches
    reg = registry(province_code, era).set_index("code")
    out = matches.copy()
    for row, code in overrides.items():
        hit = out.index[out["_row"] == row]
        if not len(hit):
            continue
        i = hit[0]
        if code and code in reg.index:
            out.loc[i, ["code", "matched_name", "level", "method", "score", "note"]] = (
                code, reg.at[code, "name"], reg.at[code, "level"], "manual", 1.0, Msg("match.manual"))
        else:
            out.loc[i, ["code", "matched_name", "level", "method", "score", "note"]] = (
                None, None, None, "skip", 0.0, Msg("match.skipped"))
    return out


def unit_choices(province_code: str, era: str) -> pd.DataFrame:
    """Units a row can be matched to by hand: ``code``, ``level``, ``label`` ('Xã Hòa Bình —
    Huyện Văn Quan (06100)'), districts first, then communes by district."""
    reg = registry(province_code, era)
    names = reg.set_index("code")["name"]
    reg = reg.assign(parent_name=reg["parent_code"].map(names).fillna(""))
    order = reg["level"].map({"province": 0, "district": 1, "commune": 2})
    reg = reg.assign(_o=order).sort_values(["_o", "parent_code", "name"], na_position="first")
    label = [f"{n} — {p} ({c})" if p else f"{n} ({c})" for n, p, c in zip(reg["name"], reg["parent_name"], reg["code"])]
    return pd.DataFrame({"code": reg["code"].to_numpy(), "level": reg["level"].to_numpy(), "label": label})
