"""The indicator registry: the one place that says what an indicator is.

Every screen, the importer, the template, validation, the store's columns, the map and the
CLI derive their lists from :data:`INDICATORS`; adding an indicator is one entry here, its
labels in the catalogues (``indicator_label.<id>``), a migration when it is stored, and a test.

Kinds
-----
``count``           a count the review forms give (households, loans, workers): stored, summed
                    when units are aggregated;
``published_rate``  a rate as published (percent): stored, shown where there are no counts,
                    never averaged upwards;
``rate``            numerator / denominator × 100, both counts: derived after summing, so a
                    district's rate is never the average of its communes' rates;
``coverage``        100 − the largest share deprived among ``complement_of`` (the share of poor
                    households *not* lacking a service).  With two deprivations this is an upper
                    bound: the review gives each deprivation's count, not how many households
                    lack either.

Groups: ``core`` (the review's summary), ``flow`` (the year's movements), ``ethnic``
(ethnic-minority poverty), ``deprivation`` (the 12 indicators of Decree 07/2021/NĐ-CP, counted
among poor households), ``coverage`` (the resolutions' service targets, from the
deprivations), ``output`` (the programme's outputs: loans, training, households helped; its funds allocated
and disbursed, all projects of the national target programme together).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

KINDS = ("count", "published_rate", "rate", "coverage")
GROUPS = ("core", "flow", "ethnic", "deprivation", "coverage", "output")


@dataclass(frozen=True)
class Indicator:
    """One entry of the registry (see the module's docstring for ``kind`` and ``group``).

    ``unit``: "%" or a key of the catalogue's ``[unit]`` section ("households", "loans",
    "workers", "people").  ``aliases``: exact column headers accepted for it (compared without
    case, diacritics and spaces), ``keywords``: words that name it inside a longer header (each
    a tuple of folded fragments that must all appear; ``exclude``: fragments that rule it out).
    ``supplementary``: a file of these columns alone adds them to a year already stored (the
    deprivation forms, the programme's outputs) instead of replacing the year.
    ``map``: offered on the map (where some unit has a value); ``template``: a column of the
    downloadable template; ``decimals``: shown with this many decimals.
    """

    id: str
    unit: str
    kind: str
    group: str = "core"
    numerator: str | None = None
    denominator: str | None = None
    published: str | None = None
    complement_of: tuple[str, ...] = ()
    #: a pooled coverage: 100 − Σ complement_of / Σ denominators (poor and near-poor together)
    denominators: tuple[str, ...] = ()
    higher_is_worse: bool = True
    aliases: tuple[str, ...] = ()
    keywords: tuple[tuple[str, ...], ...] = ()
    exclude: tuple[str, ...] = ()
    supplementary: bool = False
    map: bool = False
    template: bool = False
    decimals: int | None = None

    @property
    def stored(self) -> bool:
        """A column of the store's indicator table (counts and published rates)."""
        return self.kind in ("count", "published_rate")

    @property
    def is_percent(self) -> bool:
        return self.unit == "%"

    @property
    def shown_decimals(self) -> int:
        return self.decimals if self.decimals is not None else (2 if self.is_percent else 0)

    def label(self, lang: str = "vi") -> str:
        """The indicator's name (catalogue ``indicator_label.<id>``)."""
        from povdata.i18n import t
        return t(f"indicator_label.{self.id}", lang)

    def unit_label(self, lang: str = "vi") -> str:
        """'%' or 'hộ' / 'households'."""
        from povdata.i18n import t
        return self.unit if self.unit == "%" else t(f"unit.{self.unit}", lang)


def _count(id: str, group: str = "core", unit: str = "households", **kw) -> Indicator:
    return Indicator(id, unit, "count", group, **kw)


def _rate(id: str, numerator: str, denominator: str, group: str = "core", **kw) -> Indicator:
    return Indicator(id, "%", "rate", group, numerator=numerator, denominator=denominator, **kw)


#: The 12 deprivation indicators of the 2022-2025 standard (Decree 07/2021/NĐ-CP), in the
#: decree's order of dimensions: id suffix → the words that name it in a header (folded)
DEPRIVATIONS: dict[str, tuple[tuple[str, ...], ...]] = {
    "employment": (("vieclam",),),
    "dependants": (("phuthuoc",),),
    "nutrition": (("dinhduong",),),
    "health_insurance": (("baohiemyte",), ("bhyt",)),
    "adult_education": (("giaoducnguoilon",), ("trinhdogiaoduc",)),
    "child_school": (("dihoc",),),
    "housing_quality": (("chatluongnha",),),
    "housing_area": (("dientichnha",), ("dientich", "binhquan")),
    "water": (("nuocsinhhoat",), ("nguonnuoc",)),
    "latrine": (("nhatieu",), ("hoxi",)),
    "telecom": (("vienthong",),),
    "information": (("tiepcanthongtin",), ("phuongtien", "thongtin")),
}

#: Exact column headers accepted for each stored indicator besides its id (data the importer
#: reads: compared without case, diacritics and spaces; longer headers are read by keywords)
HEADER_WORDS: dict[str, tuple[str, ...]] = {
    "households_total": ("Tổng số hộ", "Tổng số hộ dân cư", "Số hộ"),
    "poor_households": ("Số hộ nghèo", "Hộ nghèo"),
    "near_poor_households": ("Số hộ cận nghèo", "Hộ cận nghèo"),
    "poor_households_start": ("Số hộ nghèo đầu năm",),
    "escaped_poor": ("Số hộ thoát nghèo", "Hộ thoát nghèo"),
    "newly_poor": ("Số hộ nghèo phát sinh", "Hộ nghèo phát sinh"),
    "re_poor": ("Số hộ tái nghèo", "Hộ tái nghèo"),
    "ethnic_minority_poor": ("Hộ nghèo dân tộc thiểu số", "Số hộ nghèo DTTS"),
    "population": ("Dân số", "Số nhân khẩu"),
    "ethnic_minority_households": ("Tổng số hộ dân tộc thiểu số", "Số hộ DTTS", "Hộ dân tộc thiểu số"),
    "deprived_employment": ("Thiếu hụt việc làm", "Việc làm"),
    "deprived_dependants": ("Thiếu hụt người phụ thuộc", "Người phụ thuộc trong hộ gia đình"),
    "deprived_nutrition": ("Thiếu hụt dinh dưỡng", "Dinh dưỡng"),
    "deprived_health_insurance": ("Thiếu hụt bảo hiểm y tế", "Bảo hiểm y tế", "BHYT"),
    "deprived_adult_education": ("Thiếu hụt trình độ giáo dục của người lớn", "Trình độ giáo dục của người lớn"),
    "deprived_child_school": ("Thiếu hụt tình trạng đi học của trẻ em", "Tình trạng đi học của trẻ em"),
    "deprived_housing_quality": ("Thiếu hụt chất lượng nhà ở", "Chất lượng nhà ở"),
    "deprived_housing_area": ("Thiếu hụt diện tích nhà ở", "Diện tích nhà ở bình quân đầu người"),
    "deprived_water": ("Thiếu hụt nguồn nước sinh hoạt", "Nguồn nước sinh hoạt"),
    "deprived_latrine": ("Thiếu hụt nhà tiêu hợp vệ sinh", "Nhà tiêu hợp vệ sinh"),
    "deprived_telecom": ("Thiếu hụt sử dụng dịch vụ viễn thông", "Sử dụng dịch vụ viễn thông"),
    "deprived_information": ("Thiếu hụt phương tiện tiếp cận thông tin", "Phương tiện phục vụ tiếp cận thông tin"),
    "preferential_loans": ("Số lượt hộ vay vốn ưu đãi",),
    "vocational_training": ("Số lao động được đào tạo nghề",),
    "poor_households_helped": ("Số hộ nghèo được hỗ trợ",),
    "budget_allocated": ("Kinh phí được giao (triệu đồng)", "Kế hoạch vốn được giao", "Vốn được giao"),
    "budget_disbursed": ("Kinh phí đã giải ngân (triệu đồng)", "Giải ngân", "Vốn đã giải ngân"),
    "poverty_rate_published": ("Tỷ lệ hộ nghèo (%)", "Tỷ lệ hộ nghèo"),
    "near_poor_rate_published": ("Tỷ lệ hộ cận nghèo (%)", "Tỷ lệ hộ cận nghèo"),
}

#: The resolutions' service targets for poor households and the deprivation each is the complement of
COVERAGE = {
    "health_insurance_coverage": ("health_insurance",),
    "children_3_to_15_in_school": ("child_school",),
    "member_16_30_trained": ("adult_education",),
    "durable_housing_8m2": ("housing_quality", "housing_area"),
    "clean_water": ("water",),
    "hygienic_latrine": ("latrine",),
    "telecom_use": ("telecom",),
    "information_access_means": ("information",),
}


def _entries() -> list[Indicator]:
    e = [
        # the review's summary (the first three are what every import needs; keep them first)
        _count("households_total", higher_is_worse=False, template=True),
        _count("poor_households", map=True, template=True),
        _count("near_poor_households", template=True),
        # the year's flows (start − out + back + new = end)
        _count("poor_households_start", "flow"),
        _count("escaped_poor", "flow", higher_is_worse=False, map=True, template=True),
        _count("newly_poor", "flow", map=True, template=True),
        _count("re_poor", "flow", map=True, template=True),
        _count("ethnic_minority_poor", "ethnic", map=True, template=True),
        _count("population", unit="people", higher_is_worse=False),
        _count("ethnic_minority_households", "ethnic", higher_is_worse=False, template=True,
               keywords=(("dantoc",), ("dtts",)), exclude=("ngheo",)),
    ]
    for k, words in DEPRIVATIONS.items():
        e.append(_count(f"deprived_{k}", "deprivation", keywords=words, exclude=("canngheo",), supplementary=True,
                        template=True))
    for k in DEPRIVATIONS:  # the near-poor form: its header says cận nghèo (read in povdata.ingest.header)
        e.append(_count(f"deprived_near_{k}", "deprivation", supplementary=True, template=True))
    e += [
        # the programme's outputs (province or district plans: "15.000 lượt hộ vay vốn")
        _count("preferential_loans", "output", unit="loans", higher_is_worse=False, supplementary=True,
               template=True, keywords=(("vayvon",), ("chovay",))),
        _count("vocational_training", "output", unit="workers", higher_is_worse=False, supplementary=True,
               template=True, keywords=(("daotaonghe",),)),
        _count("poor_households_helped", "output", higher_is_worse=False, supplementary=True, template=True,
               keywords=(("duochotro",),)),
        # the national target programme's funds in the unit and year (all its projects), million VND
        _count("budget_allocated", "output", unit="million_vnd", higher_is_worse=False, supplementary=True,
               template=True, keywords=(("kinhphi", "giao"), ("vonduocgiao",), ("phanbo",))),
        _count("budget_disbursed", "output", unit="million_vnd", higher_is_worse=False, supplementary=True,
               template=True, keywords=(("giaingan",),)),
        # published rates (shown as published where there are no counts)
        Indicator("poverty_rate_published", "%", "published_rate", template=True),
        Indicator("near_poor_rate_published", "%", "published_rate", template=True),
        Indicator("ethnic_minority_rate_published", "%", "published_rate", "ethnic"),
        # derived rates
        _rate("poverty_rate", "poor_households", "households_total", published="poverty_rate_published", map=True),
        _rate("near_poor_rate", "near_poor_households", "households_total", published="near_poor_rate_published",
              map=True),
        _rate("poor_near_poor_rate", "poor_and_near_poor", "households_total"),
        _rate("escape_rate", "escaped_poor", "poor_households_start", "flow", higher_is_worse=False, map=True),
        _rate("re_poor_rate", "re_poor", "poor_households_start", "flow", map=True),
        _rate("newly_poor_rate", "newly_poor", "poor_households_start", "flow", map=True),
        _rate("re_poor_of_exits", "re_poor", "escaped_poor", "flow", map=True),
        _rate("ethnic_minority_rate", "ethnic_minority_poor", "ethnic_minority_households", "ethnic",
              published="ethnic_minority_rate_published", map=True),
        _rate("ethnic_minority_share", "ethnic_minority_poor", "poor_households", "ethnic", map=True),
        _rate("disbursement_rate", "budget_disbursed", "budget_allocated", "output", higher_is_worse=False, map=True),
    ]
    for k in DEPRIVATIONS:
        e.append(_rate(f"deprived_{k}_share", f"deprived_{k}", "poor_households", "deprivation", map=True))
    for k in DEPRIVATIONS:
        e.append(_rate(f"deprived_near_{k}_share", f"deprived_near_{k}", "near_poor_households", "deprivation",
                       map=True))
    for cid, of in COVERAGE.items():
        e.append(Indicator(cid, "%", "coverage", "coverage", denominator="poor_households",
                           complement_of=tuple(f"deprived_{k}" for k in of), higher_is_worse=False, map=True))
    # the resolution's health-insurance target is for poor *and* near-poor people: both forms pooled
    e.append(Indicator("health_insurance_poor_near_poor", "%", "coverage", "coverage",
                       complement_of=("deprived_health_insurance", "deprived_near_health_insurance"),
                       denominators=("poor_households", "near_poor_households"), higher_is_worse=False, map=True))
    return e


INDICATORS: dict[str, Indicator] = {i.id: replace(i, aliases=HEADER_WORDS.get(i.id, ())) for i in _entries()}
_generation = [0]  # bumped by register/unregister: the live views below recompute


def register(ind: Indicator) -> None:
    """Add an indicator (a province's own, or a test's); its id must be new.  Every list
    derived from the registry (the store's columns too) sees it at once."""
    if ind.id in INDICATORS:
        raise ValueError(f"indicator {ind.id!r} is already registered")
    if ind.kind not in KINDS or ind.group not in GROUPS:
        raise ValueError(f"indicator {ind.id!r}: kind {ind.kind!r} / group {ind.group!r} unknown")
    INDICATORS[ind.id] = ind
    _generation[0] += 1


def unregister(ind_id: str) -> None:
    if INDICATORS.pop(ind_id, None) is not None:
        _generation[0] += 1


class Live(Sequence):
    """A list computed from the registry, recomputed after :func:`register` (so that modules
    may keep ``from povdata.indicators import COUNT_COLUMNS`` and still see a new entry)."""

    def __init__(self, make: Callable[[], list]):
        self._make, self._gen = make, -1
        self._value: list = []

    def _get(self) -> list:
        if self._gen != _generation[0]:
            self._value, self._gen = list(self._make()), _generation[0]
        return self._value

    def __getitem__(self, i):
        return self._get()[i]

    def __len__(self) -> int:
        return len(self._get())

    def __contains__(self, x) -> bool:
        return x in self._get()

    def __add__(self, other) -> list:
        return self._get() + list(other)

    def __radd__(self, other) -> list:
        return list(other) + self._get()

    def __repr__(self) -> str:
        return f"Live({self._get()!r})"


class LiveMap(Mapping):
    """A dict computed from the registry, like :class:`Live`."""

    def __init__(self, make: Callable[[], dict]):
        self._make, self._gen = make, -1
        self._value: dict = {}

    def _get(self) -> dict:
        if self._gen != _generation[0]:
            self._value, self._gen = dict(self._make()), _generation[0]
        return self._value

    def __getitem__(self, k):
        return self._get()[k]

    def __iter__(self):
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


def of_kind(*kinds: str, group: str | None = None) -> list[str]:
    """Ids of the registry's indicators of ``kinds`` (and ``group``), in registry order."""
    return [i.id for i in INDICATORS.values() if i.kind in kinds and (group is None or i.group == group)]


def count_columns() -> list[str]:
    return of_kind("count")


def published_rates() -> list[str]:
    return of_kind("published_rate")


def stored_columns() -> list[str]:
    """The store's value columns, counts then published rates."""
    return count_columns() + published_rates()


def supplementary_columns() -> list[str]:
    return [i.id for i in INDICATORS.values() if i.supplementary]


def derived() -> list[Indicator]:
    """Rates and coverages computed from the counts, in registry order (a rate may use
    another derived column: ``poor_and_near_poor``)."""
    return [i for i in INDICATORS.values() if i.kind in ("rate", "coverage")]


def map_indicators() -> list[str]:
    return [i.id for i in INDICATORS.values() if i.map]


def template_fields() -> list[str]:
    return [i.id for i in INDICATORS.values() if i.template]


def is_supplement(fields) -> bool:
    """Whether mapped ``fields`` are a supplementary form: some of the registry's supplementary
    columns (:func:`supplementary_columns`) and no total households nor published
    rate (a poor or near-poor count may be there, as the deprivation forms repeat it: it is checked
    against the stored one, never stored from this file)."""
    fields = set(fields)
    return bool(fields & set(supplementary_columns())) and not fields & {
        "households_total", "poverty_rate_published", "near_poor_rate_published"}
