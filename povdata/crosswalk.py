"""The 2025 crosswalk: old commune → new commune(s), with weights.

Built offline from the ``converter_2025.json`` that ``vietnamadminunits`` ships
(new communes with the old communes merged into them, and the old communes divided
among several new ones with the default new commune of each).  Its address
converter is never called: that path geocodes over the network.

Columns of the crosswalk table:

==================  ==========================================================
old_code            5-digit old commune code; for the five island districts that
                    have no communes in the legacy list, the 3-digit district code
old_level           ``commune`` or ``district`` (the island districts)
old_district_code   former district (huyện cũ) of the old commune
old_province_code   old province
new_code            5-digit new commune code
new_province_code   new province (34 provinces after the reform)
weight              share of the old commune that went into the new one; 1 for a
                    whole commune; for a divided one the share of its approximate
                    cell's area nearest to the new commune's centre
divided             the old commune was divided among several new ones
is_default          the package's default new commune for a divided old one
method              ``whole`` | ``area_split`` | ``island_district``
==================  ==========================================================
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pandas as pd
import vietnamadminunits
from vietnamadminunits.database import query

CROSSWALK_PATH = Path(__file__).resolve().parents[1] / "data" / "crosswalk" / "crosswalk_2025.csv"
COLUMNS = ["old_code", "old_level", "old_district_code", "old_province_code", "new_code", "new_province_code",
           "weight", "divided", "is_default", "method"]
ISLAND_DISTRICTS = ("huyenbachlongvi", "huyenconco", "huyenhoangsa", "huyenlyson", "huyencondao")


def _converter() -> dict:
    path = Path(vietnamadminunits.__file__).parent / "data" / "converter_2025.json"
    return json.loads(path.read_text(encoding="utf-8"))


def crosswalk_pairs() -> pd.DataFrame:
    """Every old → new pair from the package, with codes on both sides (weights not set)."""
    conv = _converter()
    old = pd.DataFrame(query("SELECT provinceKey, districtKey, wardKey, wardCode, districtCode, provinceCode "
                             "FROM admin_units_legacy"))
    old["key"] = old["provinceKey"] + "_" + old["districtKey"] + "_" + old["wardKey"].fillna("")
    old = old.set_index("key")
    new = pd.DataFrame(query("SELECT provinceKey, wardKey, wardCode, provinceCode FROM admin_units"))
    new_code = dict(zip(zip(new["provinceKey"], new["wardKey"]), new["wardCode"]))
    new_prov = dict(zip(new["wardCode"], new["provinceCode"]))
    rows = []
    for pkey, wards in conv["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for wkey, olds in wards.items():
            for okey in olds:
                rows.append((okey, new_code[(pkey, wkey)], False, True))
    for pkey, olds in conv["DICT_PROVINCE_WARD_DIVIDED"].items():
        for okey, targets in olds.items():
            for t in targets:
                rows.append((okey, new_code[(pkey, t["newWardKey"])], True, bool(t["isDefaultNewWard"])))
    out = []
    for okey, ncode, divided, default in rows:
        o = old.loc[okey]
        island = not isinstance(o["wardCode"], str) or o["wardCode"] == ""
        out.append(dict(
            old_code=o["districtCode"] if island else o["wardCode"], old_level="district" if island else "commune",
            old_district_code=o["districtCode"], old_province_code=o["provinceCode"], new_code=ncode,
            new_province_code=new_prov[ncode], weight=1.0 if not divided else float("nan"), divided=divided,
            is_default=default, method="island_district" if island else ("area_split" if divided else "whole")))
    df = pd.DataFrame(out, columns=COLUMNS)
    return df.sort_values(["old_province_code", "old_code", "new_code"]).reset_index(drop=True)


def build_crosswalk(old_cells=None) -> tuple[pd.DataFrame, "object"]:
    """The crosswalk with weights, and the approximate boundaries of the new communes.

    ``old_cells``: approximate old-commune cells (``geo.approx`` commune layer) covering
    at least the divided communes; built nationally when omitted.
    """
    from geo.approx import build_approx_boundaries
    from geo.reform import new_commune_boundaries
    from povdata.units import legacy_communes, units_2025

    pairs = crosswalk_pairs()
    if old_cells is None:
        old_cells = build_approx_boundaries(legacy_communes())["commune"]
    new_units = units_2025()
    centres = new_units[new_units["level"] == "commune"].set_index("code")[["lon", "lat"]]
    communes = pairs[pairs["old_level"] == "commune"]
    bounds, weights = new_commune_boundaries(old_cells, communes, centres)
    pairs.loc[communes.index, "weight"] = weights
    # a divided commune with no cell (not expected): equal shares, said in the method
    missing = pairs["weight"].isna()
    if missing.any():
        n = pairs[missing].groupby("old_code")["new_code"].transform("size")
        pairs.loc[missing, "weight"] = 1.0 / n
        pairs.loc[missing, "method"] = "equal_split"
    bounds = bounds.merge(new_units[["code", "province_code"]], on="code", how="left")
    return pairs, bounds


def write_crosswalk(df: pd.DataFrame, path: Path = CROSSWALK_PATH) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, float_format="%.6f", lineterminator="\n")


@lru_cache(maxsize=1)
def _load(path: str) -> pd.DataFrame:
    return pd.read_csv(path, dtype={c: str for c in COLUMNS if c.endswith("code")})


def load_crosswalk(province_code: str | None = None, path: Path = CROSSWALK_PATH) -> pd.DataFrame:
    """The stored crosswalk (``data/crosswalk/crosswalk_2025.csv``), optionally for one
    province in force (all the old communes of its former provinces; see
    :mod:`povdata.provinces`).  A fresh copy each call."""
    df = _load(str(path))
    if province_code is not None:
        df = df[df["new_province_code"] == province_code]
    return df.reset_index(drop=True).copy()
