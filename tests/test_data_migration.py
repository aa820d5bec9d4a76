"""Tests of sd_model.data_migration (census inter-provincial migration by macro-region).

Reference values are recomputed from the CSV with the csv module, or printed in SOURCES.md.
"""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest

from sd_model.data_migration import FILE, load_census_migration, load_census_migration_provincial
from sd_model.errors import DataError

RAW = Path(__file__).resolve().parent.parent / "data" / "raw"


def flows():
    with (RAW / "regions.csv").open(newline="", encoding="utf-8") as fh:
        reg = {r["province"]: r["region"] for r in csv.DictReader(fh)}
    with (RAW / FILE).open(newline="", encoding="utf-8") as fh:
        return [(int(r["census_year"]), reg[r["origin_province"]], reg[r["destination_province"]],
                 float(r["persons_census_table_value"])) for r in csv.DictReader(fh)]


@pytest.fixture(scope="module")
def ds():
    return load_census_migration(RAW)


def test_totals_match_sources(ds):
    total = ds["flow"].sum(("origin", "destination"))
    assert total.sel(census_year=2000) == 7305955  # SOURCES.md: 7.31 million
    assert total.sel(census_year=2010) == 10230691  # 10.23 million


@pytest.mark.parametrize("year, region", [(2000, "Northeast"), (2010, "Northeast"), (2010, "East"), (2000, "West")])
def test_net_share_independent(ds, year, region):
    rows = [f for f in flows() if f[0] == year and f[1] != f[2]]
    total = sum(v for *_, v in rows)
    inflow = sum(v for _, o, d, v in rows if d == region)
    outflow = sum(v for _, o, d, v in rows if o == region)
    assert float(ds["net_share"].sel(census_year=year, region=region)) == pytest.approx((inflow - outflow) / total)
    assert float(ds["in_share"].sel(census_year=year, region=region)) == pytest.approx(inflow / total)


def test_shares_add_up(ds):
    np.testing.assert_allclose(ds["in_share"].sum("region"), 1.0)
    np.testing.assert_allclose(ds["out_share"].sum("region"), 1.0)
    np.testing.assert_allclose(ds["net_share"].sum("region"), 0.0, atol=1e-12)
    np.testing.assert_allclose(ds["destination_share"].sum("destination"), 1.0)
    np.testing.assert_allclose(ds["interprovincial_in_share"].sum("region"), 1.0)


def test_pattern_east_gains_northeast_turns(ds):
    net = ds["net_share"]
    assert (net.sel(region="East") > 0).all() and (net.sel(region="Central") < 0).all()
    assert float(net.sel(census_year=2010, region="Northeast")) < 0


def test_provincial_table(tmp_path):
    df = load_census_migration_provincial(RAW)
    assert len(df) == 2 * 31 * 30
    row = df[(df.census_year == 2010) & (df.origin == "Sichuan") & (df.destination == "Guangdong")]
    assert row.destination_region.item() == "East" and row.origin_region.item() == "West"
    shutil.copy(RAW / "regions.csv", tmp_path / "regions.csv")
    lines = (RAW / FILE).read_text(encoding="utf-8").splitlines(keepends=True)
    lines[3] = lines[3].replace(",Anhui,", ",Anhwei,", 1)
    (tmp_path / FILE).write_text("".join(lines), encoding="utf-8")
    with pytest.raises(DataError, match=rf"{FILE}, line 4: unknown destination_province 'Anhwei'.*'Anhui'"):
        load_census_migration_provincial(tmp_path)
    lines = (RAW / FILE).read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = lines[2].replace(",883,", ",-5,", 1)
    (tmp_path / FILE).write_text("".join(lines), encoding="utf-8")
    with pytest.raises(DataError, match=rf"{FILE}, line 3: negative flow"):
        load_census_migration_provincial(tmp_path)
