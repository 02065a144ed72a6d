"""Importing indicator workbooks (XLSX) and CSV files — the public entry point.

The work is done in :mod:`povdata.ingest`, one job per module, each step a plain function the
import page and ``python -m povdata validate | import`` share:

1. :mod:`~povdata.ingest.sheet` — :func:`read_sheet`: the file's cells as text (limits in
   :mod:`~povdata.ingest.safety`);
2-3. :mod:`~povdata.ingest.header` — :func:`find_header`, :func:`column_labels`,
   :func:`suggest_mapping` (the review forms' three merged header rows included);
4. :mod:`~povdata.ingest.rows` — :func:`extract_rows` (totals, sections, signature block
   left out of the units);
5. :mod:`~povdata.ingest.match` — :func:`match_units` against :func:`registry`;
6. :mod:`~povdata.ingest.checks` — :func:`check_indicators`, subtotals, the balance check,
   the partial-year gate;
and :mod:`~povdata.ingest.pipeline` — :func:`prepare_indicators` (all steps) and
:func:`save_import`; :mod:`~povdata.ingest.template` — the downloadable template.

This module re-exports them so that callers keep one import path.
"""
from __future__ import annotations

from povdata.ingest.safety import (  # noqa: F401
    DEFAULT_MAX_UPLOAD_MB, FULL_MODE_SHEET_BYTES, ImportFileError, MAX_CELLS, MAX_COLUMNS,
    MAX_MERGED_CELLS, MAX_ROWS, MAX_XLSX_UNZIPPED, MAX_ZIP_MEMBERS, MAX_ZIP_RATIO,
    ZIP_BOMB_MIN_BYTES, _MERGE_RE, _OLE_MAGIC, _column_number, _merged_area,
    _too_big, _vn_int, check_workbook, max_upload_bytes, size_problem,
)
from povdata.ingest.sheet import (  # noqa: F401
    Sheet, _NOT_VI, _VI_LETTERS, _cell_text, _grid_full,
    _grid_streaming, _is_utf8_vietnamese, _line_of, _read_csv, _read_xlsx,
    _sniff_separator, column_letter, decode_csv_bytes, read_sheet, sha256,
    utf8_conflict,
)
from povdata.ingest.header import (  # noqa: F401
    FIELDS, Header, MAX_HEADER_ROWS, MAX_HEADER_SCAN, TEMPLATE_FIELDS,
    _ALIAS_KEYS, _COLNUM_RE, _COMMUNE_TYPES, _DISTRICT_TYPES, _FIELD_KEYS,
    _GENERIC_LEAVES, _NUMBER_RE, _START_OF_YEAR, _TOTAL_RE, _YEAR_RE,
    _composite_field, _guess_field, _is_colnum_row, _is_rate_label, _near_poor_detail,
    _row_score, _skip_colnums, _type_of, column_labels, find_header,
    suggest_mapping, year_from_title,
)
from povdata.ingest.rows import (  # noqa: F401
    _FOOTER_RE, _ROMAN_RE, _SECTION_RE, _table_end, extract_rows,
)
from povdata.ingest.match import (  # noqa: F401
    MATCH_COLUMNS, NATIONAL, _has, _norm_code, apply_overrides,
    district_in_title, era_of_year, match_units, registry, unit_choices,
)
from povdata.ingest.checks import (  # noqa: F401
    BALANCE_FIELDS, _check_partial, _warn_balance, _warn_district_sums, _warn_missing_units,
    check_indicators, check_subtotals, whole_districts,
)
from povdata.ingest.template import (  # noqa: F401
    template_csv, template_frame, template_xlsx,
)
from povdata.ingest.pipeline import (  # noqa: F401
    IndicatorImport, _demo_layers, _file_problem, prepare_indicators, prepare_indicators_limited, save_import,
)
