"""Derived regional series of :func:`sd_model.data.load_observations`.

Fiscal flows, investment and capital ratios, loan-to-deposit ratios, prices, investment
growth, industrial structure and wages.

Inputs are the year x province tables already read and validated by :mod:`sd_model.data`;
every formula is written in the ``note`` attribute of the variable it makes, and the caveats
of the raw files (``data/raw/SOURCES.md``) are repeated there where they matter.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .data_panel import regional_sum, regional_weighted_mean

_Series = tuple[np.ndarray, dict]


def _attrs(units: str, source: str, note: str) -> dict:
    return {"units": units, "source": source, "note": note}


def _fiscal(wide, regions, core) -> dict[str, _Series]:
    rev = regional_sum(wide["fiscal_revenue"], regions)
    exp = regional_sum(wide["fiscal_expenditure"], regions)
    src_r, src_e = "provincial_fiscal_revenue.csv", "provincial_fiscal_expenditure.csv"
    net = exp - rev
    return {
        "fiscal_revenue": (rev, _attrs(
            "billion yuan/year, current prices", src_r,
            "Sum of provincial local general budget revenue (地方财政一般预算收入, 亿元/10), 2000-2015. "
            "Provinces sum to national local revenue within 0.01% except 2002 (+0.95%), 2004 (-1.7%), "
            "2005 (-1.4%).")),
        "fiscal_expenditure": (exp, _attrs(
            "billion yuan/year, current prices", src_e,
            "Sum of provincial local general budget expenditure (地方财政一般预算支出, 亿元/10), 2000-2015.")),
        "net_fiscal_inflow": (net, _attrs(
            "billion yuan/year, current prices", f"{src_e}, {src_r}",
            "Local expenditure minus local revenue, summed by region: the usual proxy for net central "
            "transfers received (transfers by province were not found). Positive for every region "
            "because the centre funds part of all local spending; compare regions, not signs.")),
        "net_fiscal_inflow_to_gdp": (net / core["gdp_nominal"], _attrs(
            "1 (fraction of GDP)", f"{src_e}, {src_r}, provincial_gdp_nominal.csv",
            "net_fiscal_inflow / nominal GDP of the region (NBS vintage), 2000-2015.")),
    }


def _investment(wide, regions, core, national: pd.DataFrame) -> dict[str, _Series]:
    gdp, gfcf = core["gdp_nominal"], core["gfcf_nominal"]
    scale = national["gfcf_nominal"].to_numpy() / gfcf.sum(axis=1)
    k_current = regional_sum(wide["capital_stock_1952prices"] * wide["investment_price_index"], regions,
                             chongqing_in_sichuan=True)
    src_k = "provincial_capital_stock_1952prices.csv, provincial_investment_price_index.csv"
    return {
        "investment_to_gdp": (gfcf / gdp, _attrs(
            "1 (fraction of GDP)", "provincial_gfcf_nominal.csv, provincial_gdp_nominal.csv",
            "Provincial GFCF / provincial GDP summed by region, current prices, 1978-2015. Provincial "
            "GFCF is over-reported (the sum of provinces exceeds national GFCF by +6% in 2000, +29% in "
            "2010, +35% in 2015); see investment_to_gdp_national_scaled. GDP vintage break in 2000.")),
        "investment_to_gdp_national_scaled": (gfcf * scale[:, None] / gdp, _attrs(
            "1 (fraction of GDP)", "provincial_gfcf_nominal.csv, national_nbs.csv, provincial_gdp_nominal.csv",
            "Regional GFCF scaled by national GFCF / (sum of the four regions' GFCF) of the same year, "
            "divided by regional GDP; 2000-2015 only (no national GFCF in the data before 2000). Keeps "
            "the regional pattern of GFCF and removes the over-reporting in the national total, "
            "assuming it is proportional across regions (an assumption, not a measurement).")),
        "capital_output": (core["capital_2000"] / core["gdp_real_2000"], _attrs(
            "years", f"{src_k}, provincial_gdp_real_2000prices.csv",
            "capital_2000 / gdp_real_2000 (both at 2000 prices), the model-consistent K/Y. Before 2000 "
            "the denominator is the deflated proxy real GDP; after about 2008 the numerator inherits "
            "GFCF over-reporting.")),
        "capital_output_current": (k_current / gdp, _attrs(
            "years", f"{src_k}, provincial_gdp_nominal.csv",
            "Current-price K/Y: sum over provinces of (capital at 1952 prices x investment price index "
            "of the year) / regional nominal GDP, 1978-2015.")),
    }


def _finance_prices(wide, regions, core) -> dict[str, _Series]:
    gdp_prev = wide["gdp_nominal"].shift(1)
    # Sichuan's retail price index covers Chongqing before 1996: weight it by both GDPs
    early = gdp_prev.index < 1996
    gdp_prev.loc[early, "Sichuan"] = gdp_prev.loc[early, "Sichuan"] + gdp_prev.loc[early, "Chongqing"]
    return {
        "loan_to_deposit": (core["loans"] / core["deposits"], _attrs(
            "1 (loans / deposits)", "provincial_loans_fi.csv, provincial_deposits_fi.csv",
            "Regional RMB loans / regional RMB deposits of financial institutions, year-end, 2003-2015. "
            "2015 deposits jump (non-deposit-taking FIs counted from 2015), mainly in the East.")),
        "retail_price_index": (regional_weighted_mean(wide["retail_price_index"], gdp_prev, regions,
                                                      chongqing_in_sichuan=True), _attrs(
            "index, previous year = 100", "provincial_retail_price_index.csv, provincial_gdp_nominal.csv",
            "Provincial retail price indices (商品零售价格指数) averaged with previous-year nominal GDP "
            "weights (Sichuan weighted with Chongqing before 1996). NaN where a province is missing: "
            "the West before 1990 (Tibet). A retail price index, not a GDP deflator.")),
        "fai_growth": (regional_weighted_mean(wide["fai_growth"], wide["gfcf_nominal"].shift(1), regions,
                                              chongqing_in_sichuan=True, chongqing_until=1997), _attrs(
            "percent per year", "provincial_fai_growth.csv, provincial_gfcf_nominal.csv",
            "Provincial fixed-asset-investment growth (NBS comparable basis) averaged with previous-year "
            "GFCF weights (GFCF, not FAI, because FAI levels start in 2000), 1993-2015 (East from 1993: "
            "Guangdong; Sichuan stands for Chongqing before 1997). 2011 is inflated by the threshold "
            "change (about +11 points against the levels).")),
    }


def _structure(wide, regions, core) -> dict[str, _Series]:
    def rsum(name):
        return regional_sum(wide[name], regions)
    gdp = core["gdp_nominal"]
    soe_k, all_k = rsum("soe_industry_assets"), rsum("above_scale_industry_assets")
    src_o = "provincial_industry_ownership.csv"
    above = ("Above-scale (规模以上) industrial enterprises: all state-owned and state-holding firms plus "
             "others above a sales threshold (5 million yuan until 2010, 20 million from 2011), so the "
             "universe changes in 2011.")
    return {
        "primary_share": (rsum("primary_va") / gdp, _attrs(
            "1 (fraction of GDP)", "provincial_gdp_by_sector.csv, provincial_gdp_nominal.csv",
            "Primary-industry (farming, forestry, animal husbandry, fishery) value added / GDP, regional sums, "
            "current prices, 2000-2015.")),
        "secondary_share": (rsum("secondary_va") / gdp, _attrs(
            "1 (fraction of GDP)", "provincial_gdp_by_sector.csv, provincial_gdp_nominal.csv",
            "Secondary-industry value added / GDP, regional sums, current prices, 2000-2015.")),
        "industry_share": (rsum("industry_va") / gdp, _attrs(
            "1 (fraction of GDP)", "provincial_gdp_by_sector.csv, provincial_gdp_nominal.csv",
            "Industrial (工业, excluding construction) value added / GDP, regional sums, 2000-2015.")),
        "soe_industry_asset_share": (soe_k / all_k, _attrs(
            "1 (fraction)", src_o,
            "Total assets of state-owned and state-holding (国有控股) industrial enterprises / total assets of all "
            "above-scale industrial enterprises, regional sums, 2000-2015. " + above)),
        "soe_industry_profit_rate": (rsum("soe_industry_profit") / soe_k, _attrs(
            "1/year (profit / assets)", src_o,
            "Total profit / year-end total assets of state-holding industrial enterprises, regional sums.")),
        "industry_profit_rate": (rsum("above_scale_industry_profit") / all_k, _attrs(
            "1/year (profit / assets)", src_o,
            "Total profit / year-end total assets of all above-scale industrial enterprises. " + above)),
        "average_wage": (regional_weighted_mean(wide["average_wage"], wide["population"], regions), _attrs(
            "yuan per employee per year, current prices", "provincial_average_wage.csv, provincial_population.csv",
            "Average wage of staff of urban units (城镇单位在岗职工平均工资), provincial values averaged with "
            "year-end population weights (an approximation: employment weights are not in the data); urban "
            "formal-sector wages, not rural or migrant earnings.")),
    }


def derived_series(wide: dict[str, pd.DataFrame], regions: dict[str, str], core: dict[str, np.ndarray],
                   national: pd.DataFrame) -> dict[str, _Series]:
    """Fiscal, investment, finance and price series by (year, region).

    Parameters
    ----------
    wide : dict
        Year x province tables by series name (model units).
    regions : dict
        Province -> region.
    core : dict
        (year, region) arrays already formed: ``gdp_nominal``, ``gfcf_nominal``, ``capital_2000``,
        ``gdp_real_2000``, ``loans``, ``deposits``.
    national : pandas.DataFrame
        :func:`sd_model.data.load_national` reindexed to the same years.

    Returns
    -------
    dict
        ``{name: (array of shape (years, 4), attrs with units, source, note)}``.
    """
    with np.errstate(divide="ignore", invalid="ignore"):  # a zero in a corrupted file gives inf, not a warning
        out = _fiscal(wide, regions, core)
        out.update(_investment(wide, regions, core, national))
        out.update(_finance_prices(wide, regions, core))
        out.update(_structure(wide, regions, core))
    return out
