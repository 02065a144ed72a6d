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
from povdata.units import legacy_units

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


def load_demo(province_code: str = "20") -> Dataset:
    """The embedded illustrative dataset (built by ``python -m povdata demo``)."""
    folder = demo_dir(province_code)
    meta = tomllib.loads((folder / "meta.toml").read_text(encoding="utf-8"))
    return Dataset(
        province_code=province_code,
        indicators=read_indicator_csv(folder / "indicators.csv"),
        data_status=meta["data_status"],
        source=meta["source"],
        version=str(meta["version"]),
        title=meta["title"],
    )


def level_table(ds: Dataset) -> pd.DataFrame:
    """Indicators at every level, across the 2025 reform, with unit names.

    Levels: ``province``; ``district`` (actual before the reform, reconstructed for the
    former districts after it); ``commune`` (old communes, before the reform);
    ``commune_2025`` (new communes: actual from the reform on, back-cast before it).
    New communes have ids ``<code>-2025`` (GSO codes are reused across eras).
    Reconstructed rows have ``reconstructed`` = True; back-casts that needed a divided
    old commune have ``from_divided`` = True.  Parents are aggregated by summing
    households.
    """
    from povdata.crosswalk import load_crosswalk
    from povdata.reform import (REFORM_YEAR, backcast_new_communes, district_shares, former_districts,
                                new_id)
    from povdata.units import units_2025

    pc = ds.province_code
    units = legacy_units(pc)
    communes = units[units["level"] == "commune"].set_index("code")
    ind = ds.indicators
    old = ind[ind["year"] < REFORM_YEAR]
    new = ind[ind["year"] >= REFORM_YEAR]
    parts = []
    if not old.empty:
        parts += [
            aggregate(old, communes["province_code"]).assign(level="province"),
            aggregate(old, communes["district_code"]).assign(level="district"),
            derive_rates(old).assign(level="commune"),
        ]
    new_units = units_2025(pc)
    new_communes = new_units[new_units["level"] == "commune"].set_index("code")
    cw = load_crosswalk(pc)
    if not new.empty:
        parts.append(aggregate(new, new_communes["province_code"]).assign(level="province"))
        shares = district_shares(cw, old, int(old["year"].max()) if not old.empty else None)
        parts.append(derive_rates(former_districts(new, shares)).assign(level="district"))
        parts.append(derive_rates(new).assign(level="commune_2025", unit_code=new["unit_code"].map(new_id).to_numpy()))
    if not old.empty and not cw.empty:
        back = backcast_new_communes(old, cw)
        back["unit_code"] = back["unit_code"].map(new_id)
        parts.append(derive_rates(back).assign(level="commune_2025"))
    out = pd.concat(parts, ignore_index=True)
    for col in ("reconstructed", "from_divided"):
        out[col] = out[col].astype("boolean").fillna(False).astype(bool) if col in out else False
    info_old = units.set_index("code")[["name", "short_name", "unit_type", "parent_code", "district_code"]]
    info_new = new_communes[["name", "short_name", "unit_type", "parent_code"]].assign(district_code=None)
    info_new.index = info_new.index.map(new_id)
    info = pd.concat([info_old, info_new])
    return out.join(info, on="unit_code")


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
