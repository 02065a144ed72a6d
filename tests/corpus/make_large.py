"""The large cases of the bad-input corpus, made at test time (never committed).

Each builder writes one file into a folder and returns its path; ``build(name, folder)`` picks
the builder by the file name listed in ``expected.toml`` (cases with ``generated = true``).

* ``trieu_dong.csv`` — one million data rows (~48 MB).
* ``trieu_dinh.geojson`` — Thành phố Lạng Sơn as one polygon of one million vertices (~23 MB).
* ``bom_nen_lon.xlsx`` — a workbook whose sheet unpacks to 1 GiB of zeros (~1 MB packed).
* ``bom_nen_lon.zip`` — a shapefile whose .dbf unpacks to 1 GiB of zeros (~1 MB packed).
* ``zip_2001_tep.zip`` — a zip of 2,001 members (the limit is 2,000).

The zip bombs are written by hand: one deflate block of 16 MiB of zeros, made once and
repeated (a full flush makes each block independent), so a 3 GiB member takes a fraction
of a second to build instead of compressing 1 GiB.
"""
from __future__ import annotations

import io
import struct
import sys
import zipfile
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE.parent), str(HERE)]

CHUNK = 16 << 20          # 16 MiB of zeros per deflate block
BOMB_CHUNKS = 64          # 1 GiB in all


def _deflate_zeros(chunks: int) -> tuple[bytes, int, int]:
    """(raw deflate stream of ``chunks`` × 16 MiB of zeros, CRC-32, size)."""
    zeros = bytes(CHUNK)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    stream = block * chunks + zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)
    crc = 0
    for _ in range(chunks):
        crc = zlib.crc32(zeros, crc)
    return stream, crc, CHUNK * chunks


def _raw_zip(members: list[tuple[str, bytes, int, int, int]]) -> bytes:
    """A zip from (name, stored bytes, method, CRC-32, uncompressed size) — the bytes already
    compressed as ``method`` says."""
    out = io.BytesIO()
    central = []
    for name, data, method, crc, size in members:
        n = name.encode()
        offset = out.tell()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, len(data), size, len(n), 0))
        out.write(n)
        out.write(data)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0x21, crc, len(data),
                                   size, len(n), 0, 0, 0, 0, 0o644 << 16, offset) + n)
    start = out.tell()
    for c in central:
        out.write(c)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), out.tell() - start, start, 0))
    return out.getvalue()


def _deflated(name: str, data: bytes) -> tuple[str, bytes, int, int, int]:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return name, c.compress(data) + c.flush(), zipfile.ZIP_DEFLATED, zlib.crc32(data), len(data)


def _bomb(members: dict[str, bytes], bomb_name: str) -> bytes:
    stream, crc, size = _deflate_zeros(BOMB_CHUNKS)
    parts = [_deflated(k, v) for k, v in members.items() if k != bomb_name]
    parts.append((bomb_name, stream, zipfile.ZIP_DEFLATED, crc, size))
    return _raw_zip(parts)


def million_rows(folder: Path) -> Path:
    head = "Mã đơn vị,Tên đơn vị,Năm,Tổng số hộ,Số hộ nghèo\n"
    line = "05971,Phường Hoàng Văn Thụ,{},1831,{}\n"
    period = "".join(line.format(2000 + i % 100, i % 900) for i in range(900))  # the rows repeat every 900
    body = period * (1_000_000 // 900) + period[: period.index("\n") + 1] * (1_000_000 % 900)
    path = folder / "trieu_dong.csv"
    path.write_bytes((head + body).encode())
    return path


def million_vertices(folder: Path) -> Path:
    import json

    import numpy as np
    import shapely

    from povdata.units import legacy_units

    d = legacy_units("20").set_index("code")
    lon, lat = float(d.at["178", "lon"]), float(d.at["178", "lat"])
    t = np.linspace(0, 2 * np.pi, 1_000_000, endpoint=False)
    r = 0.05 * (1 + 0.1 * np.sin(50 * t))  # a wavy ring, valid, round the city's registry point
    ring = np.round(np.column_stack([lon + r * np.cos(t), lat + r * np.sin(t)]), 6)
    geometry = shapely.to_geojson(shapely.polygons(np.vstack([ring, ring[:1]])))
    props = json.dumps({"MA": "178", "TEN": d.at["178", "name"]}, ensure_ascii=False)
    text = ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": ' + props
            + ', "geometry": ' + geometry + "}]}")
    path = folder / "trieu_dinh.geojson"
    path.write_bytes(text.encode())
    return path


def workbook_bomb(folder: Path) -> Path:
    from make_corpus import workbook

    src = zipfile.ZipFile(io.BytesIO(workbook()))
    members = {i.filename: src.read(i.filename) for i in src.infolist()}
    path = folder / "bom_nen_lon.xlsx"
    path.write_bytes(_bomb(members, "xl/worksheets/sheet1.xml"))
    return path


def shapefile_bomb(folder: Path) -> Path:
    from make_corpus import districts, shapefile_parts

    path = folder / "bom_nen_lon.zip"
    path.write_bytes(_bomb(shapefile_parts(districts()), "huyen.dbf"))
    return path


def many_members(folder: Path) -> Path:
    from make_corpus import districts, shapefile_parts

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for k, v in shapefile_parts(districts()).items():
            zf.writestr(k, v)
        for i in range(2_001 - 4):
            zf.writestr(f"x/{i}", b"")
    path = folder / "zip_2001_tep.zip"
    path.write_bytes(buf.getvalue())
    return path


BUILDERS = {
    "trieu_dong.csv": million_rows,
    "trieu_dinh.geojson": million_vertices,
    "bom_nen_lon.xlsx": workbook_bomb,
    "bom_nen_lon.zip": shapefile_bomb,
    "zip_2001_tep.zip": many_members,
}


def build(name: str, folder: Path) -> Path:
    return BUILDERS[name](folder)


if __name__ == "__main__":  # make them all in a folder, to look at: make_large.py /tmp/lon
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    for name in BUILDERS:
        print(name, build(name, out).stat().st_size)
