"""Read boundary files into WGS 84, and store the three levels in one GeoPackage."""
from __future__ import annotations

from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import geopandas as gpd
import pyogrio
import pyogrio.errors

from povdata.messages import Msg

__all__ = ["BoundaryReadError", "read_boundaries", "write_layers", "read_layers"]

# Fixed timestamp written into GeoPackage metadata, so the same layers give the same bytes.
_GPKG_DATE = "2000-01-01T00:00:00.000Z"

_READ_ERRORS = (
    pyogrio.errors.DataSourceError,
    pyogrio.errors.DataLayerError,
    pyogrio.errors.FieldError,
    pyogrio.errors.FeatureError,
    pyogrio.errors.GeometryError,
    pyogrio.errors.CRSError,
)


class BoundaryReadError(ValueError):
    """A boundary file cannot be used; the message (Vietnamese) names the file."""


def read_boundaries(path: str | Path, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read a boundary layer and return it in EPSG:4326.

    Parameters
    ----------
    path : str or Path
        A zipped shapefile (``.zip``), shapefile (``.shp`` with its side files),
        GeoJSON or GeoPackage; anything GDAL/pyogrio reads.
    layer : str, optional
        Layer to read; required when the file holds several layers.

    Returns
    -------
    GeoDataFrame
        All attribute columns as stored, geometry reprojected from the file's CRS
        to EPSG:4326 (WGS 84 longitude/latitude, degrees).  Geometries are not
        repaired.  A layer without features gives an empty frame.

    Raises
    ------
    BoundaryReadError
        (a ``ValueError``) when the file is missing or unreadable, has several
        layers and none was chosen, has no geometry, or declares no CRS.
    """
    path = Path(path)
    if not path.exists():
        raise BoundaryReadError(Msg("read.not_found", path=path))
    try:
        layers = [str(name) for name in pyogrio.list_layers(path)[:, 0]]
    except _READ_ERRORS as exc:
        raise BoundaryReadError(Msg("read.unsupported", path=path, detail=str(exc))) from exc
    if layer is None and len(layers) > 1:
        raise BoundaryReadError(Msg("read.several_layers", path=path, layers=", ".join(layers)))
    if layer is not None and layer not in layers:
        raise BoundaryReadError(Msg("read.no_such_layer", path=path, layer=layer, layers=", ".join(layers)))
    try:
        gdf = pyogrio.read_dataframe(path, layer=layer)
    except _READ_ERRORS as exc:
        raise BoundaryReadError(Msg("read.unreadable", path=path, detail=str(exc))) from exc
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise BoundaryReadError(Msg("read.no_geometry", path=path))
    if gdf.crs is None:
        raise BoundaryReadError(Msg("read.no_crs", path=path))
    if gdf.crs.equals("EPSG:4326"):
        return gdf.set_crs("EPSG:4326", allow_override=True)
    return gdf.to_crs("EPSG:4326")


def write_layers(layers: Mapping[str, gpd.GeoDataFrame], path: str | Path) -> None:
    """Write several levels as layers of one new GeoPackage, reproducibly.

    Parameters
    ----------
    layers : mapping of str to GeoDataFrame
        Layer name (e.g. ``"commune"``, ``"district"``, ``"province"``) to frame.
        Frames must have a CRS; they are written in EPSG:4326.
    path : str or Path
        Target ``.gpkg`` file; an existing file is replaced.

    Notes
    -----
    Layers are written in name order and rows sorted by ``code`` (when present),
    without the index; the GeoPackage timestamp is fixed, so the same layers give a
    byte-identical file.  Polygon and MultiPolygon rows keep their own type.
    """
    path = Path(path)
    if path.suffix.lower() != ".gpkg":
        raise ValueError(f"write_layers writes a GeoPackage (.gpkg); got {path}")
    for name, gdf in layers.items():
        if gdf.crs is None:
            raise ValueError(f"layer {name!r} has no CRS")
    tmp = path.with_name(f".{path.stem}.partial.gpkg")
    tmp.unlink(missing_ok=True)
    with _fixed_gpkg_date():
        for name in sorted(layers):
            gdf = layers[name].to_crs("EPSG:4326")
            if "code" in gdf.columns:
                gdf = gdf.sort_values("code", kind="stable")
            pyogrio.write_dataframe(
                gdf.reset_index(drop=True), tmp, layer=name, driver="GPKG", promote_to_multi=False
            )
    tmp.replace(path)  # a reader never sees a half-written file


def read_layers(path: str | Path) -> dict[str, gpd.GeoDataFrame]:
    """Read every layer of a GeoPackage written by :func:`write_layers`.

    Returns
    -------
    dict of str to GeoDataFrame
        Layer name to frame in EPSG:4326, in the file's layer order.

    Raises
    ------
    BoundaryReadError
        As :func:`read_boundaries`.
    """
    path = Path(path)
    if not path.exists():
        raise BoundaryReadError(Msg("read.not_found", path=path))
    try:
        names = [str(name) for name in pyogrio.list_layers(path)[:, 0]]
    except _READ_ERRORS as exc:
        raise BoundaryReadError(Msg("read.unreadable", path=path, detail=str(exc))) from exc
    return {name: read_boundaries(path, layer=name) for name in names}


@contextmanager
def _fixed_gpkg_date() -> Iterator[None]:
    # GDAL stamps GeoPackages with the current time unless OGR_CURRENT_DATE is set.
    # The option is process-wide, so restore whatever was there.
    before = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": _GPKG_DATE})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": before})
