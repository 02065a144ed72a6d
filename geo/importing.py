"""Importing a user's boundary file: zipped shapefile, GeoJSON or GeoPackage.

Steps (each a plain function; :func:`prepare_boundaries` runs them all):

1. :func:`unpack` — a ``.zip`` is checked before anything is extracted
   (:func:`check_zip`: no absolute path, no ``..``, no link, not too many members or bytes)
   and its one vector file located; other files are written as they are.
2. :func:`read_vector` — read with pyogrio.  Shapefile text is read byte for byte
   (``encoding="latin1"``), the encoding detected over all text fields
   (:func:`povdata.vnenc.detect_encoding`: UTF-8, Windows-1258, TCVN3, VNI; a ``.cpg`` is
   reported beside it) and the text decoded; the user may override.  GeoJSON and
   GeoPackage text is Unicode by definition; legacy bytes stored in it as latin-1
   characters are detected the same way.
3. CRS: the file's own; if there is none (a shapefile without ``.prj``) the user is asked,
   with :func:`crs_choices` ranked by :func:`rank_crs` (which reprojection lands the
   features in the province).  VN-2000 choices are EPSG's: UTM zones 48N/49N (3405, 3406),
   the TM-3 zones 481/482/491 (5896-5898) and the provincial TM-3 zones of
   Circular 973/2001/TT-TCĐC as registered in EPSG (5899, 9205-9218; e.g. Lạng Sơn
   107°15' = EPSG:9215).  Everything is reprojected to EPSG:4326.
4. :func:`repair` — invalid geometries fixed with :func:`shapely.make_valid` (polygonal
   part kept) and reported by feature; features that are not polygons are refused.
5. :func:`match_features` — each feature to a registry unit: by a code field, else by a
   name field within the province (:func:`povdata.names.match_names`), else by location
   (the one unmatched registry point inside the polygon).  Fields and level (district or
   commune) are guessed from which gives most matches; the user may override any.
6. :func:`build_layers` — province, district and commune layers for the store: several
   features of one unit are merged (multi-part units kept whole); a commune file gives
   its districts and province by union.

The work is done in :mod:`geo.ingest`, one job per module (unpack, vector, crs, repair, match,
layers, pipeline); the limits are in :mod:`povdata.ingest.safety`.  This module re-exports
them so that callers keep one import path.
"""
from __future__ import annotations

from geo.ingest.unpack import (  # noqa: F401
    ARCHIVE_SUFFIXES, MAX_UNZIPPED_BYTES, MAX_ZIP_MEMBERS, MAX_ZIP_RATIO, VECTOR_SUFFIXES,
    ZIP_BOMB_MIN_BYTES, _SHAPEFILE_PARTS, _VN2000_CODES, check_zip, unpack,
)
from geo.ingest.vector import (  # noqa: F401
    MAX_GEOJSON_BYTES, VectorRead, _DRIVERS, _GPKG_IDS, _cpg_encoding,
    _side_file, _text_columns, check_content, check_shapefile, read_vector,
)
from geo.ingest.crs import (  # noqa: F401
    crs_choices, rank_crs,
)
from geo.ingest.repair import (  # noqa: F401
    GEOS_REASONS, geos_reason, repair,
)
from geo.ingest.match import (  # noqa: F401
    MATCH_COLUMNS, _code_hits, _registry, apply_overrides, guess_fields,
    guess_parent_field, match_features,
)
from geo.ingest.layers import (  # noqa: F401
    _dissolve, _union, build_layers,
)
from geo.ingest.pipeline import (  # noqa: F401
    BoundaryImport, _coordinate_problems, prepare_boundaries, prepare_boundaries_limited,
)

__all__ = [
    "MAX_ZIP_MEMBERS", "MAX_UNZIPPED_BYTES", "VECTOR_SUFFIXES", "check_zip", "unpack", "read_vector",
    "crs_choices", "rank_crs", "repair", "match_features", "build_layers", "prepare_boundaries",
    "prepare_boundaries_limited",
    "BoundaryImport",
]
