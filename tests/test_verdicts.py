"""One verdict engine: the map's status layer, the progress scorecard and the briefing's
scorecard give the same verdict for the same unit, period and as-of year, and name them."""
from __future__ import annotations

import pandas as pd
import pytest

from povdata.dataset import level_table, load_demo
from povdata.progress import scorecard
from povdata.targets import default_targets
from povdata.verdicts import period_for_year, unit_verdicts, verdict_caption
from povdata.views import map_table


@pytest.fixture(scope="module")
def demo():
    return level_table(load_demo("20")), default_targets("20")


@pytest.mark.parametrize("year", [2017, 2018, 2019, 2020, 2022, 2023, 2024, 2025])
@pytest.mark.parametrize("level", ["district", "commune"])
def test_map_layer_and_scorecard_agree(demo, year, level):
    levels, cfg = demo
    period = period_for_year(cfg, year)
    assert period is not None
    card = scorecard(levels, cfg, period.id, level, as_of=year).set_index("unit_code")["status"]
    engine = unit_verdicts(levels, cfg, level, year).set_index("unit_code")
    shown = map_table(levels, cfg, level, year, "target_status")
    pd.testing.assert_series_equal(engine["status"], card, check_names=False)
    pd.testing.assert_series_equal(shown["status"].reindex(card.index), card, check_names=False)
    # every verdict on the map names its period and as-of year
    assert set(shown["period_id"].dropna()) == {period.id} and set(shown["as_of"].dropna()) == {min(year, period.end)}


def test_the_layer_follows_the_year(demo):
    levels, cfg = demo
    s2023 = map_table(levels, cfg, "district", 2023, "target_status")["status"]
    s2021_25 = map_table(levels, cfg, "district", 2025, "target_status")["status"]
    s2026 = map_table(levels, cfg, "district", 2026, "target_status")["status"]
    assert (s2023 != s2021_25).any()  # 2023 is mid-period: on track / at risk, 2025 the final verdicts
    assert set(s2021_25.dropna()) <= {"met", "not_met", "floor", "exceeded", "no_data"}
    # end-2026 is the 2026-2030 period's baseline: nothing to judge yet, never 2021-2025's verdicts again
    assert s2026.isna().all()


def test_verdict_caption_names_period_and_as_of_year():
    assert verdict_caption("2021-2025", 2023) == "2021-2025, số liệu đến 2023"
    assert verdict_caption("2021-2025", 2023, "en") == "2021-2025, data up to 2023"


def test_sources_are_cited_by_title_issuer_and_date_never_by_file_name():
    import re

    from povdata.sources import cite, sources

    from povdata.published import published_figures
    seeds = {str(x).removesuffix(".txt") for x in published_figures()["source_seed"].dropna() if x}
    assert seeds and seeds <= set(sources())  # every source of a published figure has its title
    text = cite("Kế hoạch 42/KH-UBND (bài 003_183a2da7ae7c316d)")
    assert text == ("Kế hoạch 42/KH-UBND («Kế hoạch số 42/KH-UBND triển khai thực hiện Chương trình mục tiêu quốc "
                    "gia giảm nghèo bền vững năm 2017 trên địa bàn tỉnh Lạng Sơn», UBND tỉnh Lạng Sơn, 28/02/2017)")
    # every source the demo's targets name reaches the user as a citation
    cfg = default_targets("20")
    shown = [cite(p.source) for p in cfg.periods] + [cite(t.source) for p in cfg.periods for t in p.targets]
    assert not [s for s in shown if re.search(r"\d{3}_[0-9a-f]{16}", s)]


# ---- the same agreement on imported data ----------------------------------------------------------
@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """Two imported provinces: Lạng Sơn's communes for 2021-2024 imported year by year from CSV
    files (the demo's rows written as a department would), and Bắc Kạn's district rate tables of
    2021-2023 (no counts, tests/real_like.py) under Thái Nguyên."""
    import real_like
    from import_fixtures import demo_rows
    from povdata.importer import prepare_indicators, save_import
    from povdata.store import latest_version, load_version, open_store

    d = tmp_path_factory.mktemp("imported-verdicts")
    store = open_store(d)
    for year in (2021, 2022, 2023, 2024):
        rows = demo_rows(year)
        text = "Mã đơn vị,Tên đơn vị,Năm,Tổng số hộ,Số hộ nghèo,Số hộ cận nghèo\n" + "".join(
            f"{r.unit_code},{r.name},{year},{r.households_total},{r.poor_households},{r.near_poor_households}\n"
            for r in rows.itertuples())
        imp = prepare_indicators(text.encode("utf-8"), f"ra_soat_{year}.csv", "20")
        assert imp.ok, [str(p) for p in imp.report.errors]
        save_import(store, "20", imp, created_by="test")
    for year, shift in real_like.BAC_KAN_SHIFTS:
        imp = prepare_indicators(real_like.bac_kan_series_table(year, shift), f"bk_{year}.xlsx", "19")
        save_import(store, "19", imp, created_by="test")
    ls = load_version(store, "20", latest_version(store, "20").id)
    bk = load_version(store, "19", latest_version(store, "19").id)
    return {"20": (ls, level_table(ls), default_targets("20")),
            "06": (bk, level_table(bk, former="06"), default_targets("19", former="06"))}


@pytest.mark.parametrize("key, year", [("20", 2022), ("20", 2023), ("20", 2024), ("06", 2022), ("06", 2023)])
def test_imported_provinces_get_one_verdict_on_every_screen(imported, key, year):
    ds, levels, cfg = imported[key]
    assert ds.data_status == "imported"
    period = period_for_year(cfg, year)
    engine = unit_verdicts(levels, cfg, "district", year).set_index("unit_code")
    assert len(engine) and engine["status"].notna().all()
    card = scorecard(levels, cfg, period.id, "district", as_of=year).set_index("unit_code")["status"]
    shown = map_table(levels, cfg, "district", year, "target_status")
    pd.testing.assert_series_equal(engine["status"], card, check_names=False)
    pd.testing.assert_series_equal(shown["status"].reindex(card.index), card, check_names=False)
    assert set(shown["period_id"].dropna()) == {period.id}


@pytest.mark.parametrize("source", ["demo", "imported"])
def test_briefing_slides_say_the_engines_verdicts(imported, source):
    """The scorecard slide and each poor district's slide give the engine's verdict (the 2030
    outlook is said apart, never as the period's verdict)."""
    from povdata.briefing import build_pack
    from povdata.i18n import t

    ds, levels, cfg = (load_demo("20"), None, default_targets("20")) if source == "demo" else imported["20"]
    levels = level_table(ds) if levels is None else levels
    year = 2024
    pack = build_pack(ds, year, "vi", render=False)
    engine = unit_verdicts(levels, cfg, "district", year).set_index("unit_code")
    names = dict(zip(levels["unit_code"], levels["name"]))
    table = next(i for s in pack.slides for i in s.items if hasattr(i, "rows") and len(i.header) == 8)
    said = {row[0]: row[7] for row in table.rows}
    assert said == {names[c]: t(f"status.{s}", "vi") for c, s in engine["status"].items()}
    districts = [s for s in pack.slides if s.kind == "district"]
    assert districts
    for s in districts:
        code = next(c for c, n in names.items() if s.title.startswith(n + " "))
        assert f"mục tiêu 2021-2025, số liệu đến {year}: {t('status.' + engine.at[code, 'status'], 'vi')}" \
            in s.subtitle, s.subtitle
