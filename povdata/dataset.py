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
    """Indicators at every level (commune, district, province) with unit names.

    Districts and the province are aggregated by summing their communes' households.
    Columns: the tidy indicator columns, derived rates, ``level``, ``name``,
    ``short_name``, ``unit_type``, ``parent_code``, ``district_code``.
    """
    units = legacy_units(ds.province_code)
    communes = units[units["level"] == "commune"].set_index("code")
    com = derive_rates(ds.indicators)
    dist = aggregate(ds.indicators, communes["district_code"])
    prov = aggregate(ds.indicators, communes["province_code"])
    com["level"], dist["level"], prov["level"] = "commune", "district", "province"
    out = pd.concat([prov, dist, com], ignore_index=True)
    info = units.set_index("code")[["name", "short_name", "unit_type", "parent_code", "district_code"]]
    out = out.join(info, on="unit_code")
    return out
