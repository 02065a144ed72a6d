"""Boundary uploads: which attribute holds the unit code and the name, and each feature
matched to a unit of the province's registry (:func:`povdata.ingest.match.registry`) by code,
else by name.
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from povdata.messages import Msg, with_messages
from povdata.names import match_names
from povdata.validate import normalize_code
from geo.ingest.vector import _text_columns
# the unit registry is povdata's (units of a province and era); geo depends on it, never the reverse
from povdata.ingest.match import registry as _registry


def _code_hits(values: pd.Series, codes: set[str]) -> int:
    norm = values.dropna().astype(str).map(lambda v: normalize_code(v.strip()))
    return int(norm[norm.isin(codes)].nunique())


def guess_fields(gdf: gpd.GeoDataFrame, province_code: str, era: str) -> tuple[str | None, str | None, str]:
    """(code field, name field, level) that match most features; level is ``district``
    or ``commune`` (``commune`` only for the 2025 list)."""
    reg = _registry(province_code, era)
    levels = ["district", "commune"] if era == "legacy" else ["commune"]
    cols = [c for c in gdf.columns if c != gdf.geometry.name]
    best: tuple[int, str | None, str | None, str] = (-1, None, None, levels[-1])
    # a code field that identifies nearly every feature decides the level without name matching
    for level in levels:
        codes = set(reg.loc[reg["level"] == level, "code"])
        for c in cols:
            if _code_hits(gdf[c], codes) >= 0.95 * len(gdf) > 0:
                texts = [t for t in _text_columns(gdf) if t != c
                         and not gdf[t].fillna("").astype(str).str.fullmatch(r"[\d.\s]*").all()]
                return c, (texts[0] if texts else None), level
    for level in levels:
        cand = reg[reg["level"] == level]
        codes = set(cand["code"])
        code_scores = {c: _code_hits(gdf[c], codes) for c in cols}  # distinct units hit
        code_field = max(code_scores, key=lambda c: code_scores[c]) if code_scores else None
        if code_field is not None and code_scores[code_field] == 0:
            code_field = None
        name_scores: dict[str, float] = {}
        if code_field is not None and code_scores[code_field] >= 0.95 * len(gdf):
            best_code = code_scores[code_field]
            # codes decide; names only to show: the first text field that is not all digits
            texts = [c for c in _text_columns(gdf) if c != code_field
                     and not gdf[c].fillna("").astype(str).str.fullmatch(r"[\d.\s]*").all()]
            if best_code > best[0]:
                best = (best_code, code_field, texts[0] if texts else None, level)
            continue
        for c in _text_columns(gdf):
            vals = gdf[c].fillna("").astype(str)
            if vals.str.fullmatch(r"[\d.\s]*").all():
                continue
            m = match_names(list(vals), cand)
            # diacritics win ties: 'Đình Lập' over 'Dinh Lap'
            marks = vals.map(lambda s: any(ord(ch) > 127 for ch in s)).mean()
            name_scores[c] = int(m["code"].dropna().nunique()) + 0.5 * marks  # distinct units hit
        name_field = max(name_scores, key=lambda c: name_scores[c]) if name_scores else None
        score = max(code_scores.get(code_field, 0) if code_field else 0,
                    int(name_scores[name_field]) if name_field else 0)
        if score > best[0]:
            best = (score, code_field, name_field, level)
    return best[1], best[2], best[3]


MATCH_COLUMNS = ["_row", "input_code", "input_name", "level", "code", "matched_name", "method", "score", "note"]


def guess_parent_field(gdf: gpd.GeoDataFrame, province_code: str, exclude: tuple = ()) -> str | None:
    """A text field naming the district of each commune (most values match a district)."""
    reg = _registry(province_code, "legacy")
    districts = reg[reg["level"] == "district"]
    best, best_n = None, 0
    for c in _text_columns(gdf):
        if c in exclude:
            continue
        vals = gdf[c].fillna("").astype(str)
        n = int((match_names(list(vals), districts)["method"] != "none").sum())
        if n > best_n and n >= 0.8 * len(gdf):
            best, best_n = c, n
    return best


def match_features(gdf: gpd.GeoDataFrame, province_code: str, era: str, level: str,
                   code_field: str | None, name_field: str | None, parent_field: str | None = None) -> pd.DataFrame:
    """One row per feature: code, then name within the province (within the district named
    in ``parent_field`` when a name is shared), then location."""
    reg = _registry(province_code, era)
    cand = reg[reg["level"] == level].reset_index(drop=True)
    n = len(gdf)
    codes = gdf[code_field].map(lambda v: normalize_code(str(v).strip()) if pd.notna(v) else "") \
        if code_field else pd.Series([""] * n)
    names = gdf[name_field].fillna("").astype(str) if name_field else pd.Series([""] * n)
    m = match_names(list(names), cand, codes=list(codes))
    if parent_field and level == "commune" and era == "legacy":
        districts = reg[reg["level"] == "district"]
        parents = match_names(list(gdf[parent_field].fillna("").astype(str)), districts)["code"]
        for i in np.flatnonzero(m["code"].isna().to_numpy() & parents.notna().to_numpy()):
            within = cand[cand["parent_code"] == parents.iloc[i]]
            r = match_names([names.iloc[i]], within).iloc[0]
            if isinstance(r["code"], str):
                m.loc[i, ["code", "matched_name", "method", "score", "note"]] = (
                    r["code"], r["matched_name"], r["method"], r["score"], Msg("geomatch.within_field",
                                                                                  field=parent_field))
    res = pd.DataFrame({"_row": np.arange(n) + 1, "input_code": codes.to_numpy(), "input_name": names.to_numpy(),
                        "level": level, "code": m["code"].to_numpy(), "matched_name": m["matched_name"].to_numpy(),
                        "method": m["method"].to_numpy(), "score": m["score"].astype(float).to_numpy(),
                        "note": ""})
    with_messages(res, "note", m["note"])
    # a district abolished before 2025 (a GIS file older than the list): its territory is part
    # of its successor's, so the feature is merged into it, held for review with the reason
    if level == "district" and era == "legacy":
        from povdata.unit_history import former_unit
        olds = set(reg.loc[reg["level"] == "province", "code"])
        for i in np.flatnonzero(res["code"].isna().to_numpy()):
            gone = former_unit(olds, str(res.at[i, "input_name"]), str(res.at[i, "input_code"]))
            if gone is not None and gone.successor_code in set(cand["code"]):
                res.loc[i, ["code", "matched_name", "method", "score", "note"]] = (
                    gone.successor_code, gone.successor_name, "successor", 0.8 if gone.similar else 0.9,
                    gone.reason())
    # location: a name shared by several units ('Xã Mẫu Sơn' in two districts) goes to the one
    # whose registry point lies inside the polygon; a feature with no usable name or code to
    # the single unmatched registry point inside it
    todo = np.flatnonzero(res["code"].isna().to_numpy())
    if len(todo) and cand["lat"].notna().any():
        import re
        taken = set(res["code"].dropna())
        located = cand[cand["lat"].notna()].set_index("code")
        geoms = gdf.geometry.to_crs("EPSG:4326").to_numpy() if gdf.crs is not None else gdf.geometry.to_numpy()
        for i in todo:
            g = geoms[i]
            if g is None or shapely.is_empty(g):
                continue
            tied = [c for c in re.findall(r"\((\d+)\)", str(res.at[i, "note"])) if c in located.index]
            pool = located.loc[tied] if tied else located[~located.index.isin(taken)]
            inside = pool.index[shapely.contains(g, shapely.points(pool["lon"].to_numpy(), pool["lat"].to_numpy()))]
            if len(inside) == 1:
                code = inside[0]
                note = Msg("geomatch.tied_by_location") if tied else Msg("geomatch.by_location")
                res.loc[i, ["code", "matched_name", "method", "score", "note"]] = (
                    code, located.at[code, "name"], "location", 0.9 if tied else 0.6, note)
                taken.add(code)
    return res[MATCH_COLUMNS]


def apply_overrides(matches: pd.DataFrame, overrides: dict[int, str | None], province_code: str,
                    era: str) -> pd.DataFrame:
    """The user's choices ``{feature number: code}`` (None or '' = do not import it)."""
    if not overrides:
        return matches
    reg = _registry(province_code, era).set_index("code")
    out = matches.copy()
    for row, code in overrides.items():
        hit = out.index[out["_row"] == row]
        if not len(hit):
            continue
        if code and code in reg.index:
            out.loc[hit[0], ["code", "matched_name", "level", "method", "score", "note"]] = (
                code, reg.at[code, "name"], reg.at[code, "level"], "manual", 1.0, Msg("match.manual"))
        else:
            out.loc[hit[0], ["code", "matched_name", "method", "score", "note"]] = (
                None, None, "skip", 0.0, Msg("match.skipped"))
    return out
