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
