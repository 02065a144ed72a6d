"""Registry of Vietnamese administrative units, read from `vietnamadminunits`.

Two lists exist:

* ``legacy``: the units before the 2025-07-01 reform (province, district, commune);
* ``2025``: the units after it (province, commune; districts were abolished).

Codes are GSO codes kept as zero-padded strings (province 2 digits, district 3,
commune 5).  The package ships an SQLite file, so nothing here touches the network.
"""
from __future__ import annotations

from functools import lru_cache

import pandas as pd
from vietnamadminunits.database import query

UNIT_COLUMNS = [
    "code", "level", "name", "short_name", "unit_type", "parent_code",
    "province_code", "district_code", "lat", "lon",
    "min_lat", "min_lon", "max_lat", "max_lon", "era",
]

#: how the unit list writes the types of units the code tells apart (data, as the files write them)
_PROVINCE_TYPES = ("Thành phố", "Tỉnh")
PROVINCE_TYPE = _PROVINCE_TYPES[-1]
URBAN_TYPES = ("Phường", "Thị trấn")


def _split_bounds(bounds: pd.Series) -> pd.DataFrame:
    """Parse the package's ``'lat,lon – lat,lon'`` bounding boxes."""
    parts = bounds.fillna("").str.split("–", expand=True)
    if parts.shape[1] < 2:
        return pd.DataFrame(index=bounds.index, columns=["min_lat", "min_lon", "max_lat", "max_lon"], dtype=float)
    lo = parts[0].str.strip().str.split(",", expand=True)
    hi = parts[1].str.strip().str.split(",", expand=True)
    out = pd.DataFrame(
        {
            "min_lat": pd.to_numeric(lo[0], errors="coerce"),
            "min_lon": pd.to_numeric(lo[1], errors="coerce"),
            "max_lat": pd.to_numeric(hi[0], errors="coerce"),
            "max_lon": pd.to_numeric(hi[1], errors="coerce"),
        },
        index=bounds.index,
    )
    return out


def _province_type(name: str) -> str:
    return next((t for t in _PROVINCE_TYPES if name.startswith(t + " ")), PROVINCE_TYPE)


def _short_province(name: str) -> str:
    t = _province_type(name)
    return name[len(t) + 1:] if name.startswith(t + " ") else name


@lru_cache(maxsize=None)
def _legacy_raw() -> pd.DataFrame:
    return pd.DataFrame(query("SELECT * FROM admin_units_legacy"))


@lru_cache(maxsize=None)
def _reform_raw() -> pd.DataFrame:
    return pd.DataFrame(query("SELECT * FROM admin_units"))


def _legacy_table() -> pd.DataFrame:
    raw = _legacy_raw()
    prov = raw.drop_duplicates("provinceCode")
    prov_b = _split_bounds(prov["provinceBounds"])
    provinces = pd.DataFrame(
        {
            "code": prov["provinceCode"],
            "level": "province",
            "name": prov["province"],
            "short_name": prov["province"].map(_short_province),
            "unit_type": prov["province"].map(_province_type),
            "parent_code": None,
            "province_code": prov["provinceCode"],
            "district_code": None,
            "lat": prov["provinceLat"],
            "lon": prov["provinceLon"],
        }
    ).join(prov_b)
    dist = raw.drop_duplicates("districtCode")
    districts = pd.DataFrame(
        {
            "code": dist["districtCode"],
            "level": "district",
            "name": dist["district"],
            "short_name": dist["districtShort"],
            "unit_type": dist["districtType"],
            "parent_code": dist["provinceCode"],
            "province_code": dist["provinceCode"],
            "district_code": dist["districtCode"],
            "lat": dist["districtLat"],
            "lon": dist["districtLon"],
        }
    ).join(_split_bounds(dist["districtBounds"]))
    com = raw[raw["wardCode"].notna() & (raw["wardCode"] != "")]
    communes = pd.DataFrame(
        {
            "code": com["wardCode"],
            "level": "commune",
            "name": com["ward"],
            "short_name": com["wardShort"],
            "unit_type": com["wardType"],
            "parent_code": com["districtCode"],
            "province_code": com["provinceCode"],
            "district_code": com["districtCode"],
            "lat": com["wardLat"],
            "lon": com["wardLon"],
        }
    ).join(_split_bounds(com["wardBounds"]))
    out = pd.concat([provinces, districts, communes], ignore_index=True)
    out["era"] = "legacy"
    return out[UNIT_COLUMNS]


@lru_cache(maxsize=None)
def _legacy_cached() -> pd.DataFrame:
    return _legacy_table()


def legacy_units(province_code: str | None = None) -> pd.DataFrame:
    """Units before the 2025 reform: provinces, districts and communes.

    Parameters
    ----------
    province_code : str, optional
        Two-digit GSO province code ("20" for Lạng Sơn); all provinces when omitted.

    Returns
    -------
    DataFrame with :data:`UNIT_COLUMNS`; ``lat``/``lon`` and the bounding box are
    WGS 84 degrees.  A fresh copy each call.
    """
    df = _legacy_cached()
    if province_code is not None:
        df = df[df["province_code"] == province_code]
    return df.reset_index(drop=True).copy()


def legacy_communes(province_code: str | None = None) -> pd.DataFrame:
    """Pre-2025 communes only, with their district and province codes."""
    df = legacy_units(province_code)
    return df[df["level"] == "commune"].reset_index(drop=True)


@lru_cache(maxsize=None)
def _reform_cached() -> pd.DataFrame:
    raw = _reform_raw()
    prov = raw.drop_duplicates("provinceCode")
    provinces = pd.DataFrame(
        {
            "code": prov["provinceCode"],
            "level": "province",
            "name": prov["province"],
            "short_name": prov["provinceShort"],
            "unit_type": prov["province"].map(_province_type),
            "parent_code": None,
            "province_code": prov["provinceCode"],
            "district_code": None,
            "lat": prov["provinceLat"],
            "lon": prov["provinceLon"],
        }
    )
    communes = pd.DataFrame(
        {
            "code": raw["wardCode"],
            "level": "commune",
            "name": raw["ward"],
            "short_name": raw["wardShort"],
            "unit_type": raw["wardType"],
            "parent_code": raw["provinceCode"],
            "province_code": raw["provinceCode"],
            "district_code": None,
            "lat": raw["wardLat"],
            "lon": raw["wardLon"],
            "area_km2": raw["wardAreaKm2"],
        }
    )
    out = pd.concat([provinces, communes], ignore_index=True)
    for col in ("min_lat", "min_lon", "max_lat", "max_lon"):
        out[col] = float("nan")
    out["era"] = "2025"
    return out[UNIT_COLUMNS + ["area_km2"]]


def units_2025(province_code: str | None = None) -> pd.DataFrame:
    """Units from 2025-07-01 on: provinces and communes (no districts).

    The package gives no bounding boxes for these; it gives ``area_km2``.
    """
    df = _reform_cached()
    if province_code is not None:
        df = df[df["province_code"] == province_code]
    return df.reset_index(drop=True).copy()


def province_name(province_code: str) -> str:
    """Official name with type prefix, e.g. ``'Tỉnh Lạng Sơn'``: of the province in force
    for one of the 34 codes from 1/7/2025 (``'24'`` is Bắc Ninh), else of the former province."""
    new = units_2025(province_code)
    new = new[new["level"] == "province"]
    if not new.empty:
        return str(new["name"].iloc[0])
    df = legacy_units(province_code)
    rows = df[df["level"] == "province"]
    if rows.empty:
        raise KeyError(f"unknown province code {province_code!r}")
    return str(rows["name"].iloc[0])
