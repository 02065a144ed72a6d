"""Boundary uploads, all steps: :func:`prepare_boundaries` from a file's bytes to a
:class:`BoundaryImport` with its report; the page and ``python -m povdata import`` call it.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.read import BoundaryReadError
from povdata.messages import Msg, file_body
from povdata.validate import Problem, ValidationReport, shorten
from geo.ingest.unpack import unpack
from geo.ingest.vector import read_vector
from geo.ingest.crs import rank_crs
from geo.ingest.repair import repair
from geo.ingest.match import (MATCH_COLUMNS, _registry, apply_overrides, guess_fields, guess_parent_field,
                              match_features)


@dataclass
class BoundaryImport:
    file: str
    sha256: str
    province_code: str
    era: str
    layers_in_file: list[str] = field(default_factory=list)
    files_in_zip: list[str] = field(default_factory=list)
    driver: str = ""
    encoding: str | None = None
    encoding_scores: dict[str, float] = field(default_factory=dict)
    cpg: str | None = None
    crs: str | None = None          # the CRS used (EPSG:… or WKT)
    crs_from: str = "file"          # file | user | missing
    crs_ranked: list[tuple[str, float]] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)
    code_field: str | None = None
    name_field: str | None = None
    level: str = "district"
    gdf: gpd.GeoDataFrame | None = None  # EPSG:4326, repaired
    matches: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=MATCH_COLUMNS))
    report: ValidationReport | None = None

    @property
    def ok(self) -> bool:
        return self.report is not None and self.report.ok and self.gdf is not None

    @property
    def needs_crs(self) -> bool:
        return self.crs_from == "missing"


def _coordinate_problems(gdf: gpd.GeoDataFrame, name: str, bbox: tuple[float, float, float, float],
                         prov: pd.DataFrame, rep: ValidationReport) -> bool:
    """Coordinates (EPSG:4326) that cannot be right: latitude and longitude swapped (the
    swapped centre falls in the province), or beyond ±180° / ±90° or not numbers (by
    feature).  Adds the errors to ``rep``; True when there were any."""
    geoms = gdf.geometry.to_numpy()
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not present.any():
        return False
    b = shapely.bounds(geoms)
    with np.errstate(invalid="ignore"):
        bad = present & ~(np.isfinite(b).all(axis=1) & (b[:, 0] >= -180) & (b[:, 2] <= 180) & (b[:, 1] >= -90)
                          & (b[:, 3] <= 90))
    ok = present & ~bad
    where = prov["name"].iloc[0] if len(prov) == 1 else Msg("geoimport.vietnam")
    if ok.any() or bad.any():
        fin = b[present & np.isfinite(b).all(axis=1)]
        if len(fin):
            cx = (np.min(fin[:, 0]) + np.max(fin[:, 2])) / 2
            cy = (np.min(fin[:, 1]) + np.max(fin[:, 3])) / 2
            inside = bbox[0] - 1 < cx < bbox[2] + 1 and bbox[1] - 1 < cy < bbox[3] + 1
            swapped = bbox[0] - 1 < cy < bbox[2] + 1 and bbox[1] - 1 < cx < bbox[3] + 1
            if not inside and swapped:
                rep.problems.append(Problem(name, None, None, Msg("geoimport.swapped", x=f"{cx:.3f}", y=f"{cy:.3f}",
                                                                  where=where)))
                return True
    rows = np.flatnonzero(bad)
    for i in rows[:20]:
        x0, y0, x1, y1 = b[i]
        shown = (Msg("geoimport.from_to", x0=f"{x0:.6g}", y0=f"{y0:.6g}", x1=f"{x1:.6g}", y1=f"{y1:.6g}")
                 if np.isfinite(b[i]).all() else Msg("geoimport.not_numbers"))
        rep.problems.append(Problem(name, int(i) + 1, None, Msg("geoimport.out_of_range", shown=shown)))
    if len(rows) > 20:
        rep.problems.append(Problem(name, None, None, Msg("geoimport.more_out_of_range", n=len(rows) - 20)))
    return bool(len(rows))


def prepare_boundaries_limited(data: bytes, name: str, province_code: str, **options) -> BoundaryImport:
    """:func:`prepare_boundaries` in a child process with a memory and a time limit
    (:mod:`povdata.workers`): what the web pages call.  A file that hits a limit is refused
    with a message naming it."""
    import hashlib

    from povdata.workers import WorkerLimit, limit_message, run_limited

    try:
        return run_limited(prepare_boundaries, data, name, province_code, **options)
    except WorkerLimit as exc:
        out = BoundaryImport(name, hashlib.sha256(data).hexdigest(), province_code, options.get("era", "legacy"))
        out.report = ValidationReport(name)
        out.report.problems.append(Problem(name, None, None, limit_message(exc)))
        return out


def prepare_boundaries(data: bytes, name: str, province_code: str, *, era: str = "legacy",
                       encoding: str | None = None, crs: str | None = None, layer: str | None = None,
                       layer_file: str | None = None, code_field: str | None = None,
                       name_field: str | None = None, level: str | None = None,
                       overrides: dict[int, str | None] | None = None) -> BoundaryImport:
    """Every step from the uploaded bytes to matched, repaired features (see module doc).

    Never raises for a bad file: the report then holds one error naming the file.
    ``crs`` is used only when the file has none (the answer to the missing-``.prj``
    question); the user's other choices override the guesses.
    """
    import hashlib

    out = BoundaryImport(name, hashlib.sha256(data).hexdigest(), province_code, era)
    rep = ValidationReport(name)
    out.report = rep
    with tempfile.TemporaryDirectory(prefix="povdash-upload-") as tmp:
        try:
            path, out.files_in_zip = unpack(data, name, Path(tmp), layer_file)
            vec = read_vector(path, name, layer, encoding)
        except BoundaryReadError as exc:
            rep.problems.append(Problem(name, None, None, file_body(exc, name)))
            return out
    gdf = vec.gdf
    out.layers_in_file, out.driver, out.cpg = vec.layers, vec.driver, vec.cpg
    out.encoding, out.encoding_scores = vec.encoding, vec.encoding_scores
    out.fields = [c for c in gdf.columns if c != gdf.geometry.name]
    units = _registry(province_code, "legacy")
    prov = units[units["level"] == "province"]
    com = units[units["level"] == "commune"]
    bbox = (float(com["min_lon"].min()), float(com["min_lat"].min()), float(com["max_lon"].max()),
            float(com["max_lat"].max())) if len(com) else (102.0, 8.0, 110.0, 24.0)
    if gdf.crs is None:
        out.crs_ranked = rank_crs(gdf, bbox)
        if crs is None:
            out.crs_from = "missing"
            key = "geoimport.no_prj" if vec.has_prj is False else "geoimport.no_crs"
            rep.problems.append(Problem(name, None, None, Msg(key, hint=out.crs_ranked[0][0])))
            out.gdf = None
            return out
        try:
            gdf = gdf.set_crs(crs)
        except Exception:
            rep.problems.append(Problem(name, None, None, Msg("geoimport.bad_crs", crs=crs)))
            return out
        out.crs_from = "user"
    out.crs = gdf.crs.to_string()
    try:
        gdf = gdf.to_crs("EPSG:4326")
    except Exception as exc:
        rep.problems.append(Problem(name, None, None, Msg("geoimport.no_wgs84", error=type(exc).__name__)))
        return out
    if _coordinate_problems(gdf, name, bbox, prov, rep):
        return out
    gdf, warn, errs = repair(gdf, name)
    rep.problems.extend(errs + warn)
    x0, y0, x1, y1 = gdf.total_bounds if len(gdf) else (0, 0, 0, 0)
    if len(gdf) and not (bbox[0] - 1 < (x0 + x1) / 2 < bbox[2] + 1 and bbox[1] - 1 < (y0 + y1) / 2 < bbox[3] + 1):
        where = prov["name"].iloc[0] if len(prov) == 1 else Msg("geoimport.vietnam")
        rep.problems.append(Problem(name, None, None, Msg("geoimport.outside", where=where, x=f"{(x0 + x1) / 2:.3f}",
                                                          y=f"{(y0 + y1) / 2:.3f}")))
    g_code, g_name, g_level = guess_fields(gdf, province_code, era)
    out.code_field = code_field if code_field in out.fields else (None if code_field == "" else g_code)
    out.name_field = name_field if name_field in out.fields else (None if name_field == "" else g_name)
    out.level = level or g_level
    parent_field = guess_parent_field(gdf, province_code, (out.name_field, out.code_field)) \
        if out.level == "commune" and era == "legacy" else None
    matches = match_features(gdf, province_code, era, out.level, out.code_field, out.name_field, parent_field)
    matches = apply_overrides(matches, overrides or {}, province_code, era)
    out.matches = matches
    out.gdf = gdf
    label = out.name_field or out.code_field or Msg("geoimport.feature")
    for _, m in matches[matches["code"].isna() & (matches["method"] != "skip")].iterrows():
        what = shorten(" ".join(str(x) for x in (m["input_code"], m["input_name"]) if x)) \
            or Msg("geoimport.number", n=m["_row"])
        key = "geoimport.no_unit_noted" if m["note"] else "geoimport.no_unit"
        rep.problems.append(Problem(name, int(m["_row"]), label, Msg(key, what=what, note=m["note"] or "")))
    for _, m in matches[matches["method"] == "successor"].iterrows():
        rep.problems.append(Problem(name, int(m["_row"]), label, Msg("geoimport.merged_into", note=m["note"],
                                                                     unit=m["matched_name"]), "warning"))
    merged_in = set(matches.loc[matches["method"] == "successor", "code"])
    dup = matches[matches["code"].notna() & matches.duplicated("code", keep=False) & ~matches["code"].isin(merged_in)]
    for code, grp in dup.groupby("code"):
        rep.problems.append(Problem(name, int(grp["_row"].iloc[1]), label,
                                    Msg("geoimport.several_features", unit=grp["matched_name"].iloc[0], code=code,
                                        n=len(grp), rows=", ".join(map(str, grp["_row"]))), "warning"))
    reg = _registry(province_code, era)
    expected = set(reg.loc[reg["level"] == out.level, "code"])
    lacking = sorted(expected - set(matches["code"].dropna()))
    if lacking and rep.ok:
        names = reg.set_index("code")["name"]
        shown = ", ".join(f"{names[c]} ({c})" for c in lacking[:10]) + (" …" if len(lacking) > 10 else "")
        rep.problems.append(Problem(name, None, None, Msg("geoimport.lacking", n=len(lacking), units=shown),
                                    "warning"))
    return out
