"""A dataset: commune-level indicators of one province, with its provenance.

``data_status`` is one of ``illustrative`` (synthetic demo, shown with the
'Số liệu minh họa' label), ``published`` or ``imported``.  Every view of a dataset
states its status, source and version.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from povdata.indicators import aggregate, derive_rates
from povdata.messages import Msg
from povdata.units import PROVINCE_TYPE, legacy_units

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
DEMO_DIR = DATA_DIR / "demo"
LEVELS = ("province", "district", "commune")
INDICATOR_DTYPES = {"unit_code": str, "standard": str}


@dataclass(frozen=True)
class Dataset:
    province_code: str
    indicators: pd.DataFrame
    data_status: str
    source: str
    version: str
    title: str

    @property
    def is_illustrative(self) -> bool:
        return self.data_status == "illustrative"


def read_indicator_csv(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path, dtype=INDICATOR_DTYPES)
    for c in df.columns:
        if c not in ("unit_code", "standard", "year") and pd.api.types.is_numeric_dtype(df[c]):
            if c.endswith("_published"):
                df[c] = df[c].astype("float64")
            else:
                df[c] = df[c].astype("Int64")
    df["year"] = df["year"].astype(int)
    return df


def demo_dir(province_code: str) -> Path:
    return DEMO_DIR / province_code


def _meta_source(meta: dict) -> str:
    """The demo's source sentence, in the UI's language (the file keeps the Vietnamese one)."""
    return Msg("demo.source", seed=meta["seed"]) if meta.get("source_key") == "demo.source" else meta["source"]


def demo_source(province_code: str, stored: str) -> str:
    """What a stored copy of the demo says as its source: the demo's own sentence (said in
    the UI's language) when ``stored`` is that sentence, else ``stored`` as it is."""
    try:
        meta = tomllib.loads((demo_dir(province_code) / "meta.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return stored
    said = _meta_source(meta)
    return said if str(said) == str(stored) else stored


def load_demo(province_code: str = "20") -> Dataset:
    """The embedded illustrative dataset (built by ``python -m povdata demo``)."""
    folder = demo_dir(province_code)
    meta = tomllib.loads((folder / "meta.toml").read_text(encoding="utf-8"))
    return Dataset(
        province_code=province_code,
        indicators=read_indicator_csv(folder / "indicators.csv"),
        data_status=meta["data_status"],
        source=_meta_source(meta),
        version=str(meta["version"]),
        title=meta["title"],
    )


#: A published (own) figure and the sum of its children's households that differ by more
#: than this (percentage points) are flagged on the parent's row.
CHILDREN_DIFF_PP = 0.1


def _own_or_children(own: pd.DataFrame, children: pd.DataFrame) -> pd.DataFrame:
    """A parent's rows: its own figures (a published table's district or province row) where
    the file gives them, else the sum of its children's households.  Where both exist the
    own figure is shown, with the children's rate beside it (``children_rate``) and
    ``children_differ`` when they differ by more than :data:`CHILDREN_DIFF_PP`."""
    key = ["unit_code", "year", "standard"]
    if not own.empty and not children.empty:
        # a row of supplementary columns only (a district's budget, the province's loans) is not the
        # parent's own figure: its columns are added to the children's sums
        from povdata.registry import supplementary_columns
        figures = [c for c in ("households_total", "poor_households", "near_poor_households",
                               "poverty_rate_published", "near_poor_rate_published") if c in own]
        supp = [c for c in supplementary_columns() if c in own]
        only = own[figures].isna().all(axis=1) if figures else pd.Series(True, index=own.index)
        extra = own[only]
        hit = extra.set_index(key).index.isin(children.set_index(key).index)
        if hit.any() and supp:
            add = extra[hit].set_index(key)[supp]
            children = children.set_index(key)
            for c in supp:
                if c not in children:
                    children[c] = pd.Series(pd.NA, index=children.index, dtype="Int64")
                given = add[c].dropna()
                children.loc[given.index, c] = given.to_numpy()
            children = derive_rates(children.reset_index())
            own = own[~(only & own.set_index(key).index.isin(add.index))]
    own = derive_rates(own).assign(figure_from="own") if not own.empty else own
    children = children.assign(figure_from="children") if not children.empty else children
    if own.empty:
        return children
    if children.empty:
        return own
    kids = children.set_index(key)
    own = own.join(kids["poverty_rate"].rename("children_rate"), on=key)
    diff = (own["poverty_rate"] - own["children_rate"]).abs()
    own["children_differ"] = (diff > CHILDREN_DIFF_PP).fillna(False).astype(bool)
    rest = children[~children.set_index(key).index.isin(own.set_index(key).index)]
    return pd.concat([own, rest], ignore_index=True)


def _level_of(codes: pd.Series, units: pd.DataFrame) -> pd.Series:
    return codes.map(dict(zip(units["code"], units["level"])))


def empty_dataset(province_code: str) -> Dataset:
    """A province with no data yet (no store version, no embedded demo): pages say so and
    point to the import page."""
    from povdata.store import IND_COLUMNS

    cols = {c: pd.Series(dtype="Int64") for c in IND_COLUMNS}
    cols.update(unit_code=pd.Series(dtype=str), standard=pd.Series(dtype=str), year=pd.Series(dtype=int))
    for c in ("poverty_rate_published", "near_poor_rate_published"):
        cols[c] = pd.Series(dtype="float64")
    return Dataset(province_code, pd.DataFrame(cols), "none", "", "", "")


def has_demo(province_code: str) -> bool:
    return (demo_dir(province_code) / "meta.toml").exists()


def level_table(ds: Dataset, former: str | None = None) -> pd.DataFrame:
    """Indicators at every level, across the 2025 reform, with unit names.

    Levels: ``province``; ``district`` (actual before the reform, reconstructed for the
    former districts after it); ``commune`` (old communes, before the reform);
    ``commune_2025`` (new communes: actual from the reform on, back-cast before it).
    New communes have ids ``<code>-2025`` (GSO codes are reused across eras).
    Reconstructed rows have ``reconstructed`` = True; back-casts that needed a divided
    old commune have ``from_divided`` = True.

    The dataset may hold rows at any level (a commune table, a district table of published
    rates, the province's own figure): a unit's own row is shown as given; a parent without
    its own row is the sum of its children's households, and only when every child reports
    with counts (``complete``; a published rate without counts is never averaged upwards).
    ``figure_from`` says which (``own`` | ``children``).

    ``former``: one former province of a merged province (see :mod:`povdata.provinces`):
    its units only, years before the merger.  For a merged province the years before the
    merger are the sums of its former provinces' units (``reconstructed``).
    """
    from povdata.crosswalk import load_crosswalk
    from povdata.provinces import former_provinces, legacy_units_of
    from povdata.reform import (REFORM_YEAR, backcast_new_communes, district_shares, former_districts,
                                new_id)
    from povdata.units import units_2025

    pc = ds.province_code
    merged = former is None and len(former_provinces(pc)) > 1
    units = legacy_units_of(pc, former) if former_provinces(pc) else legacy_units(pc)
    communes = units[units["level"] == "commune"].set_index("code")
    districts = units[units["level"] == "district"].set_index("code")
    ind = ds.indicators
    old = ind[ind["year"] < REFORM_YEAR]
    old = old.assign(_level=_level_of(old["unit_code"], units))
    old_c = old[old["_level"] == "commune"].drop(columns="_level")
    old_d = old[old["_level"] == "district"].drop(columns="_level")
    old_p = old[(old["_level"] == "province") & (not merged)].drop(columns="_level")
    new = ind[ind["year"] >= REFORM_YEAR] if former is None else ind.iloc[0:0]
    parts = []
    if not old_c.empty or not old_d.empty or not old_p.empty:
        top = former or pc
        com = derive_rates(old_c).assign(level="commune") if not old_c.empty else old_c.iloc[0:0]
        dist_kids = (aggregate(old_c, communes["district_code"], require_complete=True)
                     if not old_c.empty else old_c.iloc[0:0])
        dist = _own_or_children(old_d, dist_kids)
        prov_map = pd.Series(top if merged or former else districts["province_code"], index=districts.index)
        prov_kids = aggregate(dist, prov_map, require_complete=True) if not dist.empty else dist.iloc[0:0]
        if merged and not prov_kids.empty:
            prov_kids = prov_kids.assign(reconstructed=True)
        prov = _own_or_children(old_p, prov_kids)
        parts += [p.assign(level=lvl) for p, lvl in ((prov, "province"), (dist, "district"), (com, "commune"))
                  if not p.empty]
    new_units = units_2025(pc)
    new_communes = new_units[new_units["level"] == "commune"].set_index("code")
    cw = load_crosswalk(pc) if former is None else load_crosswalk(pc).iloc[0:0]
    new_c = new[new["unit_code"].isin(new_communes.index)]
    new_p = new[new["unit_code"] == pc]
    if not new.empty:
        kids = (aggregate(new_c, new_communes["province_code"], require_complete=True)
                if not new_c.empty else new_c.iloc[0:0])
        parts.append(_own_or_children(new_p, kids).assign(level="province"))
    if not new_c.empty:
        shares = district_shares(cw, old_c, int(old_c["year"].max()) if not old_c.empty else None)
        parts.append(derive_rates(former_districts(new_c, shares)).assign(level="district"))
        parts.append(derive_rates(new_c).assign(level="commune_2025",
                                                unit_code=new_c["unit_code"].map(new_id).to_numpy()))
    if not old_c.empty and not cw.empty:
        back = backcast_new_communes(old_c, cw)
        back["unit_code"] = back["unit_code"].map(new_id)
        parts.append(derive_rates(back).assign(level="commune_2025"))
    parts = [p for p in parts if not p.empty]
    out = pd.concat(parts, ignore_index=True) if parts else _empty_levels(ind)
    for col in ("reconstructed", "from_divided", "children_differ"):
        out[col] = out[col].astype("boolean").fillna(False).astype(bool) if col in out else False
    out["complete"] = out["complete"].astype("boolean").fillna(True).astype(bool) if "complete" in out else True
    if "figure_from" not in out:
        out["figure_from"] = "own"
    out["figure_from"] = out["figure_from"].fillna("own")
    info_old = units.set_index("code")[["name", "short_name", "unit_type", "parent_code", "district_code"]]
    if merged:  # the province in force stands above its former provinces' districts
        from povdata.provinces import province_name_in_force
        info_old = info_old[info_old.index.map(lambda c: len(str(c)) != 2)]
        info_old.loc[districts.index.intersection(info_old.index), "parent_code"] = pc
        top_row = pd.DataFrame({"name": [province_name_in_force(pc)], "short_name": [new_units.loc[
            new_units["level"] == "province", "short_name"].iloc[0]], "unit_type": [PROVINCE_TYPE], "parent_code": [None],
            "district_code": [None]}, index=[pc])
        info_old = pd.concat([top_row, info_old])
    info_new = new_communes[["name", "short_name", "unit_type", "parent_code"]].assign(district_code=None)
    info_new.index = info_new.index.map(new_id)
    info = pd.concat([info_old, info_new])
    info = info[~info.index.duplicated(keep="first")]
    out = out.join(info, on="unit_code")
    if merged or former is None:  # the province in force's own name, whatever the year
        from povdata.provinces import is_new_province, province_name_in_force
        if is_new_province(pc):
            is_top = (out["level"] == "province") & (out["unit_code"] == pc)
            out.loc[is_top, "name"] = province_name_in_force(pc)
    return out


def _empty_levels(ind: pd.DataFrame) -> pd.DataFrame:
    """A level table with no rows (a province with no data yet), with the columns pages read."""
    return derive_rates(ind.iloc[0:0]).assign(level=pd.Series(dtype=str))


def new_commune_membership(ds: Dataset) -> pd.DataFrame:
    """Which new communes lie (partly) in which former district: ``unit_code`` (new id),
    ``district_code``, ``share``, ``straddles``."""
    from povdata.crosswalk import load_crosswalk
    from povdata.reform import REFORM_YEAR, district_shares, new_id

    ind = ds.indicators
    old = ind[ind["year"] < REFORM_YEAR]
    shares = district_shares(load_crosswalk(ds.province_code), old,
                             int(old["year"].max()) if not old.empty else None)
    return shares.assign(unit_code=shares["new_code"].map(new_id)).drop(columns="new_code")
