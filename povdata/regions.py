"""The country and its six socio-economic regions (vùng kinh tế - xã hội), as the General
Statistics Office publishes them in the statistical yearbook (Niên giám thống kê).

Region rows of a national table are stored as units of their own with the codes below
(``00`` is the whole country), so that a province can be compared with its region and the
country.  The membership is that of the 63 provinces before 2025-07-01 (the yearbook's);
a province in force is in the region of its former provinces.
"""
from __future__ import annotations

from povdata.names import name_key

NATIONAL_CODE = "00"

#: code → (Vietnamese name, English name, other spellings)
REGIONS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "00": ("Cả nước", "Whole country", ("Toàn quốc", "Cả nước", "Whole country", "Viet Nam", "Việt Nam")),
    "V1": ("Đồng bằng sông Hồng", "Red River Delta", ("ĐB sông Hồng", "Đồng bằng Sông Hồng")),
    "V2": ("Trung du và miền núi phía Bắc", "Northern Midlands and Mountain Areas",
           ("Trung du và miền núi Bắc Bộ", "TD và MN phía Bắc", "Miền núi phía Bắc")),
    "V3": ("Bắc Trung Bộ và duyên hải miền Trung", "North Central and Central Coastal Areas",
           ("Bắc Trung Bộ và Duyên hải Nam Trung Bộ", "BTB và DH miền Trung")),
    "V4": ("Tây Nguyên", "Central Highlands", ()),
    "V5": ("Đông Nam Bộ", "South East", ()),
    "V6": ("Đồng bằng sông Cửu Long", "Mekong River Delta", ("ĐB sông Cửu Long", "Đồng bằng Sông Cửu Long")),
}

_MEMBERS = {
    "V1": "01 22 26 27 30 31 33 34 35 36 37",
    "V2": "02 04 06 08 10 11 12 14 15 17 19 20 24 25",
    "V3": "38 40 42 44 45 46 48 49 51 52 54 56 58 60",
    "V4": "62 64 66 67 68",
    "V5": "70 72 74 75 77 79",
    "V6": "80 82 83 84 86 87 89 91 92 93 94 95 96",
}
PROVINCE_REGION: dict[str, str] = {p: r for r, ps in _MEMBERS.items() for p in ps.split()}

_KEYS = {name_key(n, drop_type=False): code for code, (vi, en, other) in REGIONS.items() for n in (vi, en, *other)}


def region_name(code: str, lang: str = "vi") -> str:
    vi, en, _ = REGIONS[code]
    return vi if lang == "vi" else en


def match_region(name: str) -> str | None:
    """The region (or ``00``, the country) a row's name is, or None."""
    return _KEYS.get(name_key(name, drop_type=False))


def region_of(former_province_code: str) -> str | None:
    return PROVINCE_REGION.get(former_province_code)


def is_aggregate(code: str) -> bool:
    """Whether a unit code is the country or a region (not a province)."""
    return code in REGIONS
