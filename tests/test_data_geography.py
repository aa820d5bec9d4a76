"""Tests of sd_model.data_geography: provincial capitals and areas, and the regions' effective distances."""
from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

from sd_model.data_geography import (GEOGRAPHY_FILE, great_circle_mm, internal_distance_mm, load_geography,
                                     market_distance)
from sd_model.errors import DataError
from sd_model.mdl import read_model_info
from sd_model.run import DEFAULT_MODEL
from raw_csv import rows

RAW = Path(__file__).resolve().parent.parent / "data" / "raw"


def test_every_province_has_a_capital_inside_china_and_a_positive_area():
    geo = load_geography()
    provinces = {r["province"] for r in rows("regions.csv")}
    assert set(geo.index) == provinces and len(geo) == 31
    assert geo["latitude"].between(18, 54).all() and geo["longitude"].between(73, 136).all()
    # the 31 provinces cover China's land area, about 9.6 million km2 (NBS); Hong Kong and Macau are not in the file
    assert geo["area_km2"].sum() == pytest.approx(9.6e6, rel=5e-3)


def test_great_circle_against_known_distances():
    # a quarter of a meridian is pi/2 Earth radii; one degree of longitude at the equator 111.19 km
    assert great_circle_mm(0, 0, 90, 0) == pytest.approx(math.pi / 2 * 6.371, rel=1e-12)
    assert great_circle_mm(0, 10, 0, 11) == pytest.approx(0.11119, rel=1e-4)
    geo = load_geography()
    b, s = geo.loc["Beijing"], geo.loc["Shanghai"]
    # Beijing-Shanghai is about 1,068 km as the crow flies
    assert great_circle_mm(b.latitude, b.longitude, s.latitude, s.longitude) == pytest.approx(1.068, abs=0.01)


def test_internal_distance_is_the_mean_distance_to_the_centre_of_a_disc():
    # mean distance from the centre of a disc of radius r is 2r/3; a disc of area pi km2 has r = 1 km
    assert internal_distance_mm(math.pi) == pytest.approx(2 / 3 / 1000, rel=1e-12)


def test_northeast_distance_by_hand_from_the_raw_rows():
    """Independent of the module: the Northeast's three provinces read with the csv module, weighted by 1978 GDP."""
    geo = {r["province"]: r for r in rows(GEOGRAPHY_FILE)}
    gdp = {r["province"]: float(r["gdp_nominal_100m_yuan"]) for r in rows("provincial_gdp_nominal.csv")
           if r["year"] == "1978"}
    ne = ["Liaoning", "Jilin", "Heilongjiang"]
    w = {p: gdp[p] / sum(gdp[q] for q in ne) for p in ne}

    def dist(p, q):
        if p == q:
            return 2 / 3 * math.sqrt(float(geo[p]["area_km2"]) / math.pi) / 1000
        la1, lo1, la2, lo2 = (math.radians(float(geo[x][c])) for x, c in
                              ((p, "latitude"), (p, "longitude"), (q, "latitude"), (q, "longitude")))
        cos = math.sin(la1) * math.sin(la2) + math.cos(la1) * math.cos(la2) * math.cos(lo2 - lo1)
        return 6.371 * math.acos(min(1.0, cos))

    by_hand = 1 / sum(w[p] * w[q] / dist(p, q) for p in ne for q in ne)
    computed = market_distance(1978)
    assert computed["Northeast"]["Northeast"] == pytest.approx(by_hand, rel=1e-9)
    for i in computed:
        for j in computed:
            assert computed[i][j] == pytest.approx(computed[j][i], rel=1e-12)
    # the model's matrix is the data's, as scripts/update_initial_values.py writes it (3 significant digits)
    model = read_model_info(DEFAULT_MODEL).get("Market Distance").default
    for i in computed:
        for j in computed:
            assert model[f"{i},{j}"] == float(f"{computed[i][j]:.3g}")


@pytest.mark.parametrize("edit, message", [
    (lambda s: s.replace("39.904989", "99.9"), r"line 2: coordinates \(99.9, .*outside"),
    (lambda s: s.replace(",16411", ",-5"), r"line 2: area_km2 -5.0 is not positive"),
    (lambda s: s.replace("Tianjin,Tianjin", "Beijing,Tianjin"), r"line 3: province 'Beijing' is given twice"),
    (lambda s: s.replace("area_km2", "area"), r"line 1: missing column\(s\) 'area_km2'"),
])
def test_bad_geography_rows_are_named(tmp_path, edit, message):
    for name in ("regions.csv", "provincial_gdp_nominal.csv"):
        shutil.copy(RAW / name, tmp_path / name)
    text = (RAW / GEOGRAPHY_FILE).read_text(encoding="utf-8")
    (tmp_path / GEOGRAPHY_FILE).write_text(edit(text), encoding="utf-8")
    with pytest.raises(DataError, match=message):
        market_distance(1978, tmp_path)


def test_a_province_without_geography_is_named(tmp_path):
    for name in ("regions.csv", "provincial_gdp_nominal.csv"):
        shutil.copy(RAW / name, tmp_path / name)
    lines = (RAW / GEOGRAPHY_FILE).read_text(encoding="utf-8").splitlines()
    (tmp_path / GEOGRAPHY_FILE).write_text("\n".join(line for line in lines if not line.startswith("Hainan")),
                                           encoding="utf-8")
    with pytest.raises(DataError, match="no row for Hainan"):
        market_distance(1978, tmp_path)
