"""Nhập số liệu: upload an indicator workbook and/or a boundary file, map columns, review
the matches, fix them by hand, validate and store a new version.

All logic is in :mod:`povdata.importer`, :mod:`geo.importing` and :mod:`povdata.store`;
this page only collects the user's choices.  Text from files is shown through
``st.dataframe`` (never as HTML) or escaped with :func:`pages.common.md_escape`.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from geo.importing import crs_choices, prepare_boundaries_limited
from pages import common as ui
from povdata.importer import (FIELDS, column_letter, max_upload_bytes, prepare_indicators_limited, save_import,
                              size_problem, template_csv, template_xlsx, unit_choices)
from povdata.auth import PermissionDenied
from povdata.boundary_sets import display_wkb_limited
from povdata.store import StoreError, has_store, open_store, version_label, versions
from povdata.units import province_name
from povdata.vnenc import ENCODING_LABELS, ENCODINGS

ui.require("import")  # a typed URL as well as the menu: only editors and admins
user = ui.current_user()
prov = ui.province()
tr = ui.tr
esc = ui.md_escape
SKIP = "__skip__"

st.title(tr("import.title"))
# a national table (the yearbook's rate by province) is the whole country's data, not the province's
if not (user is not None and user.province_code) and st.checkbox(tr("import.national"), key="imp_national",
                                                                   help=tr("import.national_help")):
    from povdata.importer import NATIONAL
    prov = NATIONAL
st.caption(tr("import.intro", province=tr("import.national_name") if prov == "00" else province_name(prov),
              limit=max_upload_bytes() // 1_000_000))


@st.cache_data(show_spinner=False, max_entries=8)
def _indicators(data: bytes, name: str, province_code: str, sheet, encoding, header_row, mapping, year, era,
                overrides, aliases=(), partial=False):
    remembered: dict[str, dict] = {}
    for e, k, c in aliases:
        remembered.setdefault(e, {})[k] = c
    # parsed in a child process with memory and time limits (povdata.workers): a huge or hostile
    # file is refused there, not in the web server
    return prepare_indicators_limited(data, name, province_code, sheet=sheet, encoding=encoding,
                                      header_row=header_row, mapping=dict(mapping) if mapping is not None else None,
                                      year=year, era=era, overrides=dict(overrides), aliases=remembered,
                                      allow_partial=partial)


def _aliases(province_code: str) -> tuple:
    """Hand-made matches of earlier imports of the province, as a hashable cache key."""
    from povdata.store import unit_aliases
    if not has_store():
        return ()
    store = open_store()
    return tuple(sorted((e, k, c) for e in ("legacy", "2025") for k, c in unit_aliases(store, province_code, e).items()))


@st.cache_data(show_spinner=False, max_entries=8)
def _boundaries(data: bytes, name: str, province_code: str, era, encoding, crs, layer_file, code_field, name_field,
                level, overrides):
    return prepare_boundaries_limited(data, name, province_code, era=era, encoding=encoding, crs=crs,
                                      layer_file=layer_file, code_field=code_field, name_field=name_field,
                                      level=level, overrides=dict(overrides))


def _report(problems, key: str) -> None:
    """Errors and warnings of one file as tables (row and column named), never as HTML."""
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity == "warning"]
    infos = [p for p in problems if p.severity == "info"]
    for kind, items, show in (("errors", errors, st.error), ("warnings", warnings, st.warning),
                              ("infos", infos, st.info)):
        if not items:
            continue
        show(tr(f"import.{kind}", n=len(items)))
        df = pd.DataFrame({tr("import.col_row"): [p.row for p in items],
                           tr("import.col_column"): [p.column or "" for p in items],
                           tr("import.col_message"): [ui.say(p.message) for p in items]})
        st.dataframe(ui.no_nulls(df), hide_index=True, key=f"{key}_{kind}", width="stretch")
        ui.download_buttons(df, f"kiem-tra-{key}-{kind}", f"{key}_{kind}_dl")


def _review(matches: pd.DataFrame, choices, key: str, state_key: str, row_label: str) -> None:
    """The review table, and a picker for every unmatched row (plus any other row on request)."""
    method_names = {m: tr(f"import.method_{m}") for m in ("code", "name", "similar", "location", "manual",
                                                          "none", "skip", "total", "former", "successor",
                                                          "remembered")}
    view = pd.DataFrame({
        row_label: matches["_row"],
        tr("import.col_input"): [" ".join(str(x) for x in (c, n) if x and x == x)
                                 for c, n in zip(matches["input_code"], matches["input_name"])],
        tr("import.col_parent"): matches["parent"] if "parent" in matches else "",
        tr("import.col_matched"): [f"{n} ({c})" if isinstance(c, str) and c else "—"
                                   for n, c in zip(matches["matched_name"], matches["code"])],
        tr("import.col_method"): matches["method"].map(method_names),
        tr("import.col_score"): matches["score"].astype(float).round(2),
        tr("import.col_note"): [ui.say(x) if isinstance(x, str) else "" for x in matches["note"]],
    })
    unmatched = matches["code"].isna() & (matches["method"] != "skip")
    view = pd.concat([view[unmatched.to_numpy()], view[~unmatched.to_numpy()]])
    st.dataframe(ui.no_nulls(view), hide_index=True, key=f"{key}_table", width="stretch")
    ui.download_buttons(view, f"doi-chieu-{key}", f"{key}_dl")
    overrides: dict = st.session_state.setdefault(state_key, {})

    def options_for(era: str) -> tuple[list[str], dict[str, str]]:
        ch = choices(era)  # the units of the list the row's year is reported on
        return [""] + [SKIP] + ch["code"].tolist(), \
            {"": tr("import.pick_unit"), SKIP: tr("import.skip_row")} | dict(zip(ch["code"], ch["label"]))

    rows = matches.loc[unmatched, "_row"].tolist()
    if rows:
        st.markdown(tr("import.fix_unmatched", n=len(rows)))
    for r in rows[:60]:
        m = matches[matches["_row"] == r].iloc[0]
        options, labels = options_for(m.get("era", "legacy"))
        what = " ".join(str(x) for x in (m["input_code"], m["input_name"]) if x and x == x)
        pick = st.selectbox(tr("import.fix_row", row=r, name=esc(what)), options, format_func=labels.get,
                            key=f"{key}_fix_{r}")
        if pick:
            overrides[int(r)] = None if pick == SKIP else pick
            st.rerun()
    if len(rows) > 60:
        st.warning(tr("import.too_many_unmatched", n=len(rows) - 60))
    with st.expander(tr("import.fix_other")):
        c1, c2, c3 = st.columns([1, 3, 1])
        r = c1.selectbox(row_label, matches["_row"].tolist(), key=f"{key}_other_row")
        options, labels = options_for(matches.loc[matches["_row"] == r, "era"].iloc[0] if "era" in matches
                                      else "legacy")
        pick = c2.selectbox(tr("import.col_matched"), options[1:], format_func=labels.get, key=f"{key}_other_unit")
        if c3.button(tr("import.apply"), key=f"{key}_other_apply"):
            overrides[int(r)] = None if pick == SKIP else pick
            st.rerun()
    if overrides:
        c1, c2 = st.columns([4, 1])
        c1.caption(tr("import.manual_count", n=len(overrides)))
        if c2.button(tr("import.reset_manual"), key=f"{key}_reset"):
            st.session_state[state_key] = {}
            st.rerun()


# ---- 1. indicators -----------------------------------------------------------
st.header(tr("import.step_indicators"))
with st.expander(tr("import.template")):
    c1, c2, c3 = st.columns([1, 1, 1])
    t_year = c1.number_input(tr("import.template_year"), 2015, 2030, 2024, key="tpl_year")
    c2.download_button(tr("import.template_xlsx"), template_xlsx(prov, int(t_year)), f"mau-so-lieu-{prov}.xlsx",
                       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="tpl_xlsx")
    c3.download_button(tr("import.template_csv"), template_csv(prov, int(t_year)), f"mau-so-lieu-{prov}.csv",
                       "text/csv", key="tpl_csv")
    st.caption(tr("import.template_help"))

up = st.file_uploader(tr("import.upload_indicators"), type=["xlsx", "xlsm", "csv"], key="up_ind")
ind = None
if up is not None:
    msg = size_problem(up.size, up.name)
    if msg:
        st.error(esc(ui.say(msg)))  # the message quotes the file's name
    else:
        data = up.getvalue()
        fkey = f"ind_{hash(data)}"
        opts = st.session_state.setdefault(f"{fkey}_opts", {"sheet": None, "encoding": None, "header_row": None,
                                                             "mapping": None, "year": None, "era": None})
        base = _indicators(data, up.name, prov, opts["sheet"], opts["encoding"], opts["header_row"],
                           None if opts["mapping"] is None else tuple(sorted(opts["mapping"].items())),
                           opts["year"], opts["era"], (), _aliases(prov))
        with st.expander(tr("import.reading"), expanded=not base.report.ok):
            c1, c2, c3, c4 = st.columns(4)
            if len(base.sheet.sheets) > 1:
                sh = c1.selectbox(tr("import.sheet"), base.sheet.sheets,
                                  index=base.sheet.sheets.index(base.sheet.sheet), key=f"{fkey}_sheet")
                if sh != base.sheet.sheet:
                    opts.update(sheet=sh, header_row=None, mapping=None)
                    st.rerun()
            if base.sheet.encoding:
                encs = [""] + list(ENCODINGS)
                enc = c1.selectbox(tr("import.encoding"), encs,
                                   format_func=lambda e: tr("import.encoding_auto", found=ENCODING_LABELS[
                                       base.sheet.encoding]) if e == "" else ENCODING_LABELS[e],
                                   key=f"{fkey}_enc")
                if (enc or None) != opts["encoding"]:
                    opts["encoding"] = enc or None
                    st.rerun()
            hr = c2.number_input(tr("import.header_row"), 1, max(1, len(base.sheet.cells)), base.header.last + 1,
                                 key=f"{fkey}_hr")
            if hr != base.header.last + 1:
                opts.update(header_row=int(hr), mapping=None)
                st.rerun()
            if "year" not in base.mapping.values():
                y = c3.number_input(tr("import.year_for_file"), 2000, 2100, base.year or 2024, key=f"{fkey}_year")
                if int(y) != base.year:
                    opts["year"] = int(y)
                    st.rerun()
            eras = ["", "legacy", "2025"]
            era = c4.selectbox(tr("import.unit_list"), eras, index=eras.index(opts["era"] or ""),
                               format_func=lambda e: tr(f"import.era_{e or 'auto'}"), key=f"{fkey}_era")
            if (era or None) != opts["era"]:
                opts["era"] = era or None
                st.rerun()
            st.caption(tr("import.header_found", first=base.header.first + 1, last=base.header.last + 1,
                          rows=len(base.table)))
            # column mapping
            st.subheader(tr("import.mapping"))
            fields = list(FIELDS)
            new_map = {}
            cols = st.columns(4)
            for j, label in enumerate(base.labels):
                if not label and j not in base.mapping:
                    continue
                cur = base.mapping.get(j, "")
                f = cols[len(new_map) % 4].selectbox(f"{column_letter(j)}: {esc(label[:60])}", fields,
                                                     index=fields.index(cur), format_func=lambda f: ui.say(FIELDS[f]),
                                                     key=f"{fkey}_map_{j}")
                new_map[j] = f
            chosen = {j: f for j, f in new_map.items() if f}
            if chosen != {j: f for j, f in base.mapping.items() if f}:
                opts["mapping"] = chosen
                st.rerun()
            st.caption(tr("import.preview"))
            prev = base.table.drop(columns=[c for c in ("_heading",) if c in base.table]).head(8)
            st.dataframe(prev.rename(columns=lambda c: ui.say(FIELDS[c]) if c in FIELDS else
                                     (tr("import.col_row") if c == "_row" else c)),
                         hide_index=True, key=f"{fkey}_preview")
        overrides = st.session_state.get(f"{fkey}_manual", {})
        partial = st.checkbox(tr("import.partial"), key=f"{fkey}_partial", help=tr("import.partial_help"))
        ind = _indicators(data, up.name, prov, opts["sheet"], opts["encoding"], opts["header_row"],
                          None if opts["mapping"] is None else tuple(sorted(opts["mapping"].items())),
                          opts["year"], opts["era"], tuple(sorted(overrides.items(), key=lambda kv: kv[0])),
                          _aliases(prov), partial)
        if len(base.matches):
            st.subheader(tr("import.review"))
            _review(base.matches if not overrides else ind.matches, lambda e: unit_choices(prov, e), "ind",
                    f"{fkey}_manual", tr("import.col_row"))
        st.subheader(tr("import.check", file=esc(up.name)))
        _report(ind.notes + ind.report.problems, "ind_report")
        if ind.ok:
            t = ind.report.table
            from povdata.coverage import coverage, coverage_lines
            st.success(tr("import.ind_ok", rows=len(t), communes=int((t["level"] == "commune").sum()),
                          years=f"{t['year'].min()}-{t['year'].max()}"))
            st.markdown(f"**{tr('coverage.title')}**\n\n" + "\n".join(
                f"- {esc(line)}" for line in coverage_lines(coverage(t, prov), ui.lang())))

# ---- 2. boundaries -----------------------------------------------------------
st.header(tr("import.step_boundaries"))
upb = st.file_uploader(tr("import.upload_boundaries"), type=["zip", "geojson", "json", "gpkg"], key="up_bnd")
bnd = None
if upb is not None:
    msg = size_problem(upb.size, upb.name)
    if msg:
        st.error(esc(ui.say(msg)))  # the message quotes the file's name
    else:
        data = upb.getvalue()
        bkey = f"bnd_{hash(data)}"
        bo = st.session_state.setdefault(f"{bkey}_opts", {"encoding": None, "crs": None, "layer_file": None,
                                                          "code_field": None, "name_field": None, "level": None})
        era = ind.era if ind is not None and ind.era != "mixed" else bo.get("era") or "legacy"
        base = _boundaries(data, upb.name, prov, era, bo["encoding"], bo["crs"], bo["layer_file"], bo["code_field"],
                           bo["name_field"], bo["level"], ())
        if base.needs_crs:
            st.warning(tr("import.crs_missing"))
            ranked = [c for c, _ in base.crs_ranked]
            labels = {c: ui.say(label) for c, label in crs_choices()}
            dist = dict(base.crs_ranked)
            pick = st.selectbox(tr("import.crs_pick"), [""] + ranked,
                                format_func=lambda c: tr("import.crs_choose") if c == "" else
                                f"{labels[c]} ({c}) — {tr('import.crs_distance', km=round(dist[c]))}"
                                if dist[c] != float("inf") else f"{labels[c]} ({c})", key=f"{bkey}_crs")
            if pick:
                bo["crs"] = pick
                st.rerun()
        with st.expander(tr("import.reading_boundaries"), expanded=False):
            c1, c2, c3, c4 = st.columns(4)
            b_eras = ["legacy", "2025"]
            b_era = c4.selectbox(tr("import.unit_list"), b_eras, index=b_eras.index(era),
                                 format_func=lambda e: tr(f"import.era_{e}"), key=f"{bkey}_era")
            if b_era != era:
                bo.update(era=b_era, level=None)
                st.rerun()
            encs = [""] + list(ENCODINGS)
            enc = c1.selectbox(tr("import.encoding"), encs,
                               format_func=lambda e: tr("import.encoding_auto", found=ENCODING_LABELS.get(
                                   base.encoding or "utf-8", "")) if e == "" else ENCODING_LABELS[e],
                               key=f"{bkey}_enc")
            if (enc or None) != bo["encoding"]:
                bo["encoding"] = enc or None
                st.rerun()
            if base.cpg:
                c1.caption(tr("import.cpg", cpg=base.cpg))
            if len(base.files_in_zip) > 1:
                lf = c2.selectbox(tr("import.layer_file"), base.files_in_zip, key=f"{bkey}_lf")
                if lf != (bo["layer_file"] or base.files_in_zip[0]):
                    bo["layer_file"] = lf
                    st.rerun()
            if base.fields:
                fopts = [""] + base.fields
                cf = c3.selectbox(tr("import.code_field"), fopts, index=fopts.index(base.code_field or ""),
                                  format_func=lambda f: f or tr("import.none"), key=f"{bkey}_cf")
                nf = c1.selectbox(tr("import.name_field"), fopts, index=fopts.index(base.name_field or ""),
                                  format_func=lambda f: f or tr("import.none"), key=f"{bkey}_nf")
                if cf != (base.code_field or "") or nf != (base.name_field or ""):
                    bo.update(code_field=cf, name_field=nf)
                    st.rerun()
                levels_ = ["district", "commune"] if era == "legacy" else ["commune"]
                lv = c2.selectbox(tr("import.level"), levels_, index=levels_.index(base.level)
                                  if base.level in levels_ else 0, format_func=lambda x: tr(f"level.{x}"),
                                  key=f"{bkey}_lv")
                if lv != base.level:
                    bo["level"] = lv
                    st.rerun()
            if base.crs:
                st.caption(tr("import.crs_used", crs=esc(base.crs), how=tr(f"import.crs_from_{base.crs_from}")))
        overrides = st.session_state.get(f"{bkey}_manual", {})
        bnd = _boundaries(data, upb.name, prov, era, bo["encoding"], bo["crs"], bo["layer_file"], bo["code_field"],
                          bo["name_field"], bo["level"], tuple(sorted(overrides.items(), key=lambda kv: kv[0])))
        if len(base.matches):
            st.subheader(tr("import.review"))
            def level_choices(_e: str, era=era, level=bnd.level) -> pd.DataFrame:
                ch = unit_choices(prov, era)
                return ch[ch["level"] == level]
            _review(base.matches.assign(parent="", era=era) if not overrides else bnd.matches.assign(parent="", era=era),
                    level_choices, "bnd", f"{bkey}_manual", tr("import.col_feature"))
        st.subheader(tr("import.check", file=esc(upb.name)))
        _report(bnd.report.problems, "bnd_report")
        if bnd.ok:
            st.success(tr("import.bnd_ok", n=int(bnd.matches["code"].notna().sum()), level=tr(f"level.{bnd.level}")))

# ---- 3. save -----------------------------------------------------------------
st.header(tr("import.step_save"))
ready = [x for x in (ind, bnd) if x is not None]
blocked = [x for x in ready if not x.ok]
c1, c2 = st.columns(2)
c1.text_input(tr("import.who"), value=user.label, disabled=True, key="imp_who")  # the signed-in user, not typed
note = c2.text_input(tr("import.note"), key="imp_note")
keep = True
latest = next(iter(versions(open_store(), prov)), None) if has_store() else None
if ind is not None and latest is not None and latest.data_status != "illustrative":
    keep = st.checkbox(tr("import.keep_years", version=f"v{latest.number}", years=latest.years), value=True,
                       key="imp_keep", help=tr("import.keep_years_help"))
if not ready:
    st.caption(tr("import.nothing"))
elif blocked:
    st.error(tr("import.blocked", files=", ".join(esc(x.file) for x in blocked)))
if st.button(tr("import.save"), type="primary", disabled=not ready or bool(blocked), key="imp_save"):
    try:
        # a new boundary set's display geometry is simplified in a worker, not in this web process
        v = save_import(open_store(), prov, ind, bnd, note=note, user=user, keep_other_years=keep,
                        simplify=display_wkb_limited)
    except (ValueError, StoreError, PermissionDenied) as exc:
        st.error(esc(ui.say(exc)))
    else:
        st.session_state["data_version"] = v.id
        st.session_state.pop("_version_pick", None)
        st.session_state["imp_saved"] = version_label(v)
        st.rerun()
if st.session_state.get("imp_saved"):
    st.success(tr("import.saved", version=esc(st.session_state["imp_saved"])))

# ---- versions ----------------------------------------------------------------
st.header(tr("import.versions"))
vs = versions(open_store(), prov) if has_store() else []
if not vs:
    st.caption(tr("import.no_versions"))
else:
    table = pd.DataFrame({
        tr("import.col_version"): [f"v{v.number}" for v in vs],
        tr("import.col_created"): [v.created_at.replace("T", " ")[:19] for v in vs],
        tr("import.col_who"): [v.created_by for v in vs],
        tr("import.col_status"): [tr(f"data_status.{v.data_status}") for v in vs],
        tr("import.col_source"): [v.source_file for v in vs],
        tr("import.col_boundary"): [v.boundary_file for v in vs],
        tr("import.col_years"): [v.years for v in vs],
        "SHA-256": [v.sha256[:16] for v in vs],
        tr("import.note"): [v.note for v in vs],
    })
    st.dataframe(ui.no_nulls(table), hide_index=True, key="versions_table", width="stretch")
    ui.download_buttons(table, f"phien-ban-{prov}", "versions_dl")
