"""The declared side of the battery: thresholds, extreme cases and expected directions.

Everything a check compares against is declared in one TOML file (default
``experiments/checks/checks.toml``, documented in ``docs/checks.md``), so that a change of
threshold is a reviewed change of data, not of code. This module reads that file into
frozen dataclasses and rejects anything malformed with a :class:`CheckSpecError` that names
the file and the key. Names of model variables are checked later, against the model.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import SDModelError, check_number
from ..files import read_toml
from ..resources import EXPERIMENTS_DIR
from ..run import KEY_INDICATORS

DEFAULT_SPEC = EXPERIMENTS_DIR / "checks" / "checks.toml"
RELATIONS = ("lower", "higher", "zero", "constant")


class CheckSpecError(SDModelError, ValueError):
    """The checks declaration file is missing or malformed."""


@dataclass(frozen=True)
class Expectation:
    """One promised response of an extreme case.

    ``relation`` is "lower"/"higher" (than the baseline at ``year``, for one value picked by
    ``region``/``dest``), "zero" (max |x| <= ``tolerance`` over the run) or "constant"
    (max |x(t) - x(start)| <= ``tolerance`` * max |x(start)|).
    """

    variable: str
    relation: str
    year: float | None = None
    region: str | None = None
    dest: str | None = None
    tolerance: float = 0.0
    because: str = ""


@dataclass(frozen=True)
class ExtremeCase:
    """A declared extreme-condition run: parameters laid over the baseline and what must follow."""

    name: str
    description: str
    params: Mapping[str, Any]
    expect: tuple[Expectation, ...] = ()
    outside_declared_range: bool = False


@dataclass(frozen=True)
class FitSeries:
    """A behaviour-reproduction comparison: model variable vs an observed series, per region."""

    name: str
    variable: str
    data: str
    first_year: int
    last_year: int
    max_mape: float | None = None
    min_r2: float | None = None
    max_rmse: float | None = None


@dataclass(frozen=True)
class CheckSpec:
    """The whole declaration file, see ``docs/checks.md``."""

    path: Path
    baseline: Path
    min_comment_chars: int = 10
    indicators: tuple[str, ...] = KEY_INDICATORS
    signed_indicators: tuple[str, ...] = ("Net Migration", "Net Credit Outflow")
    max_half_step_change: float = 0.01
    max_rk4_vs_euler: float = 0.02
    max_rk4_half_step_change: float = 1e-4
    signed_stocks: tuple[str, ...] = ()
    parameter_bounds: bool = True
    cases: tuple[ExtremeCase, ...] = ()
    balance_rtol: float = 1e-9
    balance_levers_start: float = 1990.0
    agreement_final_time: float = 1990.0
    agreement_levers_start: float = 1980.0
    agreement_levers_end: float = 1987.0
    agreement_rtol: float = 1e-9
    behaviour: tuple[FitSeries, ...] = field(default_factory=tuple)
    projection_first_year: int = 2020
    projection_last_year: int = 2100
    projection_interval: int = 95
    projection_share_tolerance: float = 1.0


# ---------------------------------------------------------------- helpers


class _Table:
    """A TOML table with typed getters that name the file and key on error."""

    def __init__(self, data: Any, where: str, path: Path) -> None:
        if not isinstance(data, dict):
            raise CheckSpecError(f"{path}: [{where}] must be a table")
        self.data, self.where, self.path = data, where, path
        self.used: set[str] = set()

    def _key(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def get(self, key: str, default: Any = None) -> Any:
        self.used.add(key)
        return self.data.get(key, default)

    def number(self, key: str, default: float | None = None, *, positive: bool = False) -> float:
        value = self.get(key, default)
        if value is None:
            raise CheckSpecError(f"{self.path}: {self._key(key)} is required")
        return check_number(value, self._key(key), str(self.path), CheckSpecError, positive=positive,
                            nonneg=not positive)

    def optional_number(self, key: str) -> float | None:
        return None if key not in self.data else self.number(key)

    def text(self, key: str, default: str | None = None) -> str:
        value = self.get(key, default)
        if not isinstance(value, str) or (default is None and not value.strip()):
            raise CheckSpecError(f"{self.path}: {self._key(key)} must be a non-empty string, got {value!r}")
        return value

    def names(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = self.get(key, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise CheckSpecError(f"{self.path}: {self._key(key)} must be a list of variable names")
        return tuple(value)

    def flag(self, key: str, default: bool) -> bool:
        value = self.get(key, default)
        if not isinstance(value, bool):
            raise CheckSpecError(f"{self.path}: {self._key(key)} must be true or false, got {value!r}")
        return value

    def sub(self, key: str) -> _Table:
        return _Table(self.get(key, {}), self._key(key), self.path)

    def finish(self) -> None:
        """Reject keys no reader asked for (typos must not pass silently)."""
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise CheckSpecError(f"{self.path}: unknown key {self._key(unknown[0])!r}; "
                                 f"valid keys here: {', '.join(sorted(self.used))}")


def _params(value: Any, where: str, path: Path) -> dict[str, Any]:
    if not isinstance(value, dict) or not value:
        raise CheckSpecError(f"{path}: {where}.params must be a non-empty table of name = value")
    out: dict[str, Any] = {}
    for name, v in value.items():
        items = v.items() if isinstance(v, dict) else [("", v)]
        labels = {el: repr(f"{name}[{el}]" if el else name) for el, _ in items}
        numbers = {str(el): check_number(x, f"{where}.params {labels[el]}", str(path), CheckSpecError)
                   for el, x in items}
        out[name] = numbers if isinstance(v, dict) else numbers[""]
    return out


def _expectation(raw: Any, where: str, path: Path) -> Expectation:
    t = _Table(raw, where, path)
    relation = t.text("relation")
    if relation not in RELATIONS:
        raise CheckSpecError(f"{path}: {where}.relation {relation!r} is not one of {', '.join(RELATIONS)}")
    year = t.optional_number("year")
    if relation in ("lower", "higher") and year is None:
        raise CheckSpecError(f"{path}: {where} compares with the baseline and needs a year")
    exp = Expectation(
        variable=t.text("variable"), relation=relation, year=year,
        region=t.text("region") if "region" in t.data else None,
        dest=t.text("dest") if "dest" in t.data else None,
        tolerance=t.number("tolerance", 1e-12 if relation == "constant" else 0.0),
        because=t.text("because", ""))
    t.finish()
    return exp


def _case(raw: Any, where: str, path: Path) -> ExtremeCase:
    t = _Table(raw, where, path)
    name = t.text("name")
    if not name.replace("_", "").isalnum():
        raise CheckSpecError(f"{path}: {where}.name {name!r} must be letters, digits and '_'")
    expects = t.get("expect", [])
    if not isinstance(expects, list):
        raise CheckSpecError(f"{path}: {where}.expect must be an array of tables ([[...expect]])")
    case = ExtremeCase(
        name=name, description=t.text("description"), params=_params(t.get("params"), where, path),
        expect=tuple(_expectation(e, f"{where}.expect[{i}]", path) for i, e in enumerate(expects)),
        outside_declared_range=t.flag("outside_declared_range", False))
    t.finish()
    return case


def _series(name: str, raw: Any, path: Path) -> FitSeries:
    t = _Table(raw, f"behaviour.{name}", path)
    first, last = int(t.number("first_year")), int(t.number("last_year"))
    if last <= first:
        raise CheckSpecError(f"{path}: behaviour.{name}: last_year {last} is not after first_year {first}")
    series = FitSeries(name=name, variable=t.text("variable"), data=t.text("data"), first_year=first,
                       last_year=last, max_mape=t.optional_number("max_mape"),
                       min_r2=t.optional_number("min_r2"), max_rmse=t.optional_number("max_rmse"))
    if series.max_mape is None and series.min_r2 is None and series.max_rmse is None:
        raise CheckSpecError(f"{path}: behaviour.{name} declares no threshold (max_mape, min_r2, max_rmse)")
    t.finish()
    return series


def _interval(table: _Table, path: Path) -> int:
    value = table.number("interval", 95)
    if value not in (80, 95):
        raise CheckSpecError(f"{path}: projection.interval {value:g}; "
                             "valid: 80 or 95 (the UN's probabilistic intervals)")
    return int(value)


def load_spec(path: str | Path = DEFAULT_SPEC) -> CheckSpec:
    """Read and validate a checks declaration file.

    Parameters
    ----------
    path : str or Path
        The TOML file. Default is ``experiments/checks/checks.toml``.

    Returns
    -------
    CheckSpec

    Raises
    ------
    CheckSpecError
        For a missing, unreadable or malformed file, an unknown key, a value of the wrong
        type, an unknown relation, duplicate case names or a missing baseline scenario.
    """
    path = Path(path)
    data, _ = read_toml(path, "checks declaration file", CheckSpecError)
    top = _Table(data, "", path)
    baseline = (path.parent / top.text("baseline")).resolve()
    if not baseline.is_file():
        raise CheckSpecError(f"{path}: baseline scenario {baseline} does not exist")
    units, integ, ext = top.sub("units"), top.sub("integration"), top.sub("extremes")
    bal, agr, proj = top.sub("mass_balance"), top.sub("agreement"), top.sub("projection")
    raw_cases = ext.get("case", [])
    if not isinstance(raw_cases, list):
        raise CheckSpecError(f"{path}: extremes.case must be an array of tables ([[extremes.case]])")
    cases = tuple(_case(c, f"extremes.case[{i}]", path) for i, c in enumerate(raw_cases))
    names = [c.name for c in cases]
    dup = sorted({n for n in names if names.count(n) > 1} | ({"baseline", "parameter_bounds"} & set(names)))
    if dup:
        raise CheckSpecError(f"{path}: extreme case name {dup[0]!r} is duplicated or reserved")
    beh = top.get("behaviour", {})
    if not isinstance(beh, dict):
        raise CheckSpecError(f"{path}: [behaviour] must hold one table per compared series")
    spec = CheckSpec(
        path=path, baseline=baseline,
        min_comment_chars=int(units.number("min_comment_chars", 10)),
        indicators=integ.names("indicators", KEY_INDICATORS),
        signed_indicators=integ.names("signed", ("Net Migration", "Net Credit Outflow")),
        max_half_step_change=integ.number("max_half_step_change", positive=True),
        max_rk4_vs_euler=integ.number("max_rk4_vs_euler", positive=True),
        max_rk4_half_step_change=integ.number("max_rk4_half_step_change", positive=True),
        signed_stocks=ext.names("signed_stocks", ()),
        parameter_bounds=ext.flag("parameter_bounds", True),
        cases=cases,
        balance_rtol=bal.number("rtol", positive=True),
        balance_levers_start=bal.number("levers_start"),
        agreement_final_time=agr.number("final_time"),
        agreement_levers_start=agr.number("levers_start"),
        agreement_levers_end=agr.number("levers_end"),
        agreement_rtol=agr.number("rtol", positive=True),
        behaviour=tuple(_series(name, raw, path) for name, raw in beh.items()),
        projection_first_year=int(proj.number("first_year", 2020)),
        projection_last_year=int(proj.number("last_year", 2100)),
        projection_interval=_interval(proj, path),
        projection_share_tolerance=proj.number("share_tolerance", 1.0),
    )
    if spec.projection_last_year <= spec.projection_first_year or spec.projection_first_year <= 2015:
        raise CheckSpecError(f"{path}: projection: first_year {spec.projection_first_year} must be after 2015 "
                             f"and before last_year {spec.projection_last_year}")
    for table in (units, integ, ext, bal, agr, proj, top):
        table.finish()
    return spec
