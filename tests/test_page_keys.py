"""A map run reads the store's version and target keys once, not once per slider year (under load
those repeated queries, and a registry copy behind each province check, were most of a map run's
time: py-spy on one server, 25 users, 2/12/2026)."""
from __future__ import annotations

import pages.common as ui
from povdata import provinces, units
from povdata.dataset import load_demo
from povdata.store import import_version, open_store


def test_breaks_of_every_slider_year_read_the_keys_once(tmp_path, monkeypatch):
    store = open_store(tmp_path)
    v = import_version(store, "20", indicators=load_demo("20").indicators, source_file="a.csv")
    calls = {"version": 0, "targets": 0}

    def version_key(_p=None):
        calls["version"] += 1
        return (store.key, v.id)

    def targets_key(_p=None):
        calls["targets"] += 1
        return 0
    monkeypatch.setattr(ui, "version_key", version_key)
    monkeypatch.setattr(ui, "targets_key", targets_key)
    monkeypatch.setattr(ui, "former", lambda: None)
    # the view's table (read inside the cached breaks, on a miss only) without counting its key
    monkeypatch.setattr(ui, "levels", lambda p: ui._levels(p, (store.key, v.id), None))
    years = (2016, 2018, 2020, 2022, 2023)
    first = ui.map_breaks_by_year("20", "district", years, "poverty_rate", None, "spread", 5, None)
    # a rerun of the same view (the breaks cached, as on a busy server): the keys read once in all
    calls.update(version=0, targets=0)
    got = ui.map_breaks_by_year("20", "district", years, "poverty_rate", None, "spread", 5, None)
    assert calls == {"version": 1, "targets": 1}
    assert got == first and [y for y, _ in got] == list(years)
    assert any(b for _, b in got)  # real breaks, not empty tuples
    # the same breaks as asking year by year, which reads them once a year
    one_by_one = tuple((y, ui.map_breaks("20", "district", y, "poverty_rate", None, "spread", 5, None))
                       for y in years)
    assert got == one_by_one
    assert calls == {"version": 1 + len(years), "targets": 1 + len(years)}


def test_the_province_check_copies_the_registry_once(monkeypatch):
    provinces._new_province_codes.cache_clear()
    assert provinces.is_new_province("20") and provinces.is_new_province("19")
    assert not provinces.is_new_province("06")  # Bắc Kạn, merged into Thái Nguyên on 2025-07-01
    monkeypatch.setattr(provinces, "units_2025", lambda *a: (_ for _ in ()).throw(AssertionError("read again")))
    assert provinces.is_new_province("20") and not provinces.is_new_province("06")
    assert len(provinces._new_province_codes()) == 34
    provinces._new_province_codes.cache_clear()
    monkeypatch.setattr(provinces, "units_2025", units.units_2025)
