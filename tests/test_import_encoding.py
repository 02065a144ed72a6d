"""Legacy Vietnamese encodings: the converter tables, detection, and DBF text decoding."""
from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from import_fixtures import shapefile_zip
from geo.importing import prepare_boundaries
from povdata.units import legacy_units
from povdata.vnenc import (ENCODINGS, decode_bytes, detect_encoding, detect_text_encoding, encode_text, is_syllable,
                           syllable_score)

NAMES = ["Huyện Đình Lập", "Thành phố Lạng Sơn", "Xã Hữu Khánh", "Thị trấn Na Sầm", "Phường Hoàng Văn Thụ",
         "Xã Khuất Xá", "Xã Yên Khoái", "Huyện Tràng Định"]


@pytest.mark.parametrize("raw, encoding, text", [
    (b"L\xb9ng S\xacn", "tcvn3", "Lạng Sơn"),           # ¹ = ạ, ¬ = ơ
    (b"\xa7\xd7nh L\xcbp", "tcvn3", "Đình Lập"),        # § = Đ, × = ì, Ë = ậ
    (b"H\xf7u L\xf2ng", "tcvn3", "Hữu Lũng"),           # ÷ = ữ, ò = ũ
    (b"L\xb9NG S\xa5N", "tcvn3", "LẠNG SƠN"),           # capitals: the toned letter follows the word
    (b"La\xefng S\xf4n", "vni", "Lạng Sơn"),            # a + ï = ạ, ô = ơ
    (b"\xd1\xf2nh La\xe4p", "vni", "Định Lập"),         # Ñ = Đ, ò = ị, a + ä = ậ
    (b"H\xf6\xf5u Lu\xf5ng", "vni", "Hữu Lũng"),        # ö = ư, õ = tilde
    (b"LA\xcfNG S\xd4N", "vni", "LẠNG SƠN"),            # capital modifiers
    (b"La\xf2ng S\xf5n", "cp1258", "Lạng Sơn"),          # cp1258 writes the tone as a combining mark
    ("Lạng Sơn".encode("utf-8"), "utf-8", "Lạng Sơn"),
])
def test_known_byte_sequences(raw, encoding, text):
    assert decode_bytes(raw, encoding) == text


@pytest.mark.parametrize("encoding", ["cp1258", "tcvn3", "vni"])
def test_every_registry_name_round_trips(encoding):
    names = legacy_units()["name"].tolist()
    bad = [n for n in names if decode_bytes(encode_text(n, encoding), encoding).casefold() != n.casefold()]
    assert bad == []


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_detection_finds_the_encoding(encoding):
    names = legacy_units("20")["name"].tolist()
    found, scores = detect_encoding([encode_text(n, encoding) for n in names])
    assert found == encoding, scores
    # even a handful of names is enough
    found, _ = detect_encoding([encode_text(n, encoding) for n in NAMES[:3]])
    assert found == encoding


def test_syllables():
    assert is_syllable("nghiêng") and is_syllable("Lạng") and is_syllable("khuyến")
    assert not is_syllable("Laùng")   # VNI read as TCVN3: 'au' takes no final consonant
    assert not is_syllable("L¹ng")    # TCVN3 read as cp1258
    assert not is_syllable("District")
    assert syllable_score(["Huyện Đình Lập"]) == 1.0


def test_unicode_text_is_kept_when_it_is_unicode():
    # GeoJSON strings that merely look like latin-1 ('Vãn Lãng') must not be re-decoded
    enc, _ = detect_text_encoding(["Vãn Lãng", "Ðình Lập", "Bắc Son"], raw_latin1=False)
    assert enc == "utf-8"


@pytest.mark.parametrize("encoding", ["tcvn3", "vni", "cp1258", "utf-8"])
def test_legacy_dbf_is_decoded_and_matched(tmp_path, encoding):
    units = legacy_units("20")
    d = units[units["level"] == "district"].reset_index(drop=True)
    boxes = [shapely.box(lon - 0.05, lat - 0.05, lon + 0.05, lat + 0.05) for lon, lat in zip(d["lon"], d["lat"])]
    # the bytes of each name, carried through GDAL unchanged as latin-1 characters
    raw_names = [encode_text(n, encoding).decode("latin-1") for n in d["name"]]
    gdf = gpd.GeoDataFrame({"TEN": raw_names}, geometry=boxes, crs="EPSG:4326")
    data = shapefile_zip(gdf, tmp_path, encoding="latin1")
    b = prepare_boundaries(data, "huyen.zip", "20")
    assert b.encoding == encoding
    assert b.gdf["TEN"].tolist() == d["name"].tolist()
    assert b.matches["code"].tolist() == d["code"].tolist()
    assert b.ok
    if encoding != "utf-8":
        # the user can override the detection: reading TCVN3 bytes as Windows-1258 garbles the names
        wrong = "cp1258" if encoding != "cp1258" else "tcvn3"
        b2 = prepare_boundaries(data, "huyen.zip", "20", encoding=wrong)
        assert b2.encoding == wrong
        assert b2.gdf["TEN"].tolist() != d["name"].tolist()
