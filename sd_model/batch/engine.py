"""Run the generated numpy code: many parameter sets at once, or one through the Engine interface."""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..engines.base import Engine, Runner, SetResults
from ..errors import ModelFileError, SDModelError
from ..mdl import ModelInfo, read_model_info
from ..parameters import Parameter, cells, element_tuple
from ..runspec import RunSpec, Times, resolve_outputs
from .emit import emit_source
from .inplace import HELPERS
from .translate import Model, UnsupportedError, level, translate
from .zeros import fold_zeros, zero_constants

__all__ = ["BatchModel", "BatchSim", "BatchEngine"]

#: Time steps computed together for the Time-only parts of the equations. A block's arrays are
#: (steps, *dims, members): at 128 steps and 1,024 members one [Region] array is 4 MB, more than
#: the machine's 2 MB of L2 cache per core. 32 steps was the current model's fastest of 32, 64 and
#: 128 at 500 and 1,024 members in one run (3-4% less CPU per run than 128) and within 1.3% of the
#: fastest in another: the size matters less than the run-to-run spread
#: (benchmarks/bench_engine_settings.py; benchmarks/README.md, "Session 25").
BLOCK_STEPS = 32

#: Members advanced together through the time loop, by default (:attr:`BatchSim.members_per_pass`).
#: Larger calls are split into passes of about this many members, run one after the other: every
#: member's arithmetic is independent of the others', so the values are the same to the last bit or so (numpy's SIMD
#: power can round an element one unit in the last place differently depending on the array's length). The
#: size trades the fixed cost of each numpy call (~1 us, spread over the members of a pass) against
#: the cost of large temporaries: at 1,000 members a [Region, Dest] temporary is 128 kB, about
#: glibc malloc's trim threshold (freed memory above it at the top of the heap goes back to the
#: system, to be faulted in again), and the current model's step then page-faults about 150 times
#: (model 1's 85-90: it has a third as many [Region, Dest] operations). Session 23 chose 512; with the
#: loop's arrays released after their last use (:mod:`.lifetimes`) and blocks of 32 steps, 1,024 is
#: faster than 512 for both models (660 against 736 ns per member-step for model 1, 1,254 against
#: 1,455 for the current model, 2,048 members to 2100, best of 3), measured with
#: benchmarks/bench_members_per_pass.py (benchmarks/README.md, "Members per pass", "Session 25").
MEMBERS_PER_PASS = 1024

#: Whether a call runs code specialised to the constants that are 0 in all its members (:mod:`.zeros`):
#: the same values, fewer operations per step where levers are off. On unless the environment
#: variable ``SD_MODEL_BATCH_FOLD_ZEROS`` is ``0`` when this module is imported (for benchmarks
#: comparing both, benchmarks/README.md "Session 28"); :class:`BatchSim` takes ``fold_zeros``.
FOLD_ZEROS = os.environ.get("SD_MODEL_BATCH_FOLD_ZEROS", "1") != "0"

#: Specialised codes kept per :class:`BatchSim` (one per set of zero constants met, oldest dropped first).
_MAX_VARIANTS = 8


def _perm(x: np.ndarray, order: tuple[int, ...]) -> np.ndarray:
    return x.transpose(order + tuple(range(len(order), x.ndim)))


def _tfirst(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(x, -2, 0))


def shared_by_members(K: Mapping[str, np.ndarray], names: Sequence[str]) -> dict[str, np.ndarray]:
    """``K``'s arrays ``names`` (dims..., members), each cut to its first member where every member has the same values.

    The Time blocks (levers, lookups of Time) are then computed once for such constants and
    broadcast, instead of once per member: the same arithmetic on the same numbers. In an
    ensemble most constants are shared (only the sampled ones differ), and the blocks were
    15-24% of a run's CPU (benchmarks/README.md, "Session 25"). An array holding NaN is kept
    whole (NaN never equals itself).
    """
    out = {}
    for name in names:
        arr = K[name]
        out[name] = arr[..., :1] if arr.shape[-1] > 1 and bool(np.all(arr == arr[..., :1])) else arr
    return out


@dataclass(frozen=True)
class Code:
    """Generated code of one :class:`BatchSim`: the model it was emitted from, its source and namespace.

    ``model`` is the translated model, or the model with the zero constants of a call folded
    (:func:`sd_model.batch.zeros.fold_zeros`): the outputs are read by its levels.
    """

    model: Model
    source: str
    fn: dict[str, Any]
    zero: frozenset[str] = frozenset()  # variables folded to 0


class BatchModel:
    """A Vensim model translated once into vectorised numpy code.

    Parameters
    ----------
    model : str, Path or ModelInfo
        The .mdl file (or its parsed metadata).

    Raises
    ------
    ModelFileError
        If an equation uses a construct the batch engine does not translate (naming the
        file, line, variable and construct).
    """

    def __init__(self, model: str | Path | ModelInfo) -> None:
        self.info = model if isinstance(model, ModelInfo) else read_model_info(model)
        try:
            self.model = translate(self.info)
        except UnsupportedError as exc:
            raise ModelFileError(str(exc)) from None

    def compile(self, outputs: Sequence[str] | None = None, *, final_time: float | None = None,
                time_step: float | None = None, saveper: float | None = None,
                members_per_pass: int = MEMBERS_PER_PASS, fold_zeros: bool | None = None) -> BatchSim:
        """Generate and compile the code for ``outputs`` and these time settings.

        Parameters
        ----------
        outputs : sequence of str, optional
            Variables to return (Vensim names). Default is every variable except lookups.
        final_time, time_step, saveper : float, optional
            FINAL TIME, TIME STEP and SAVEPER (Year). Default is the model's (SAVEPER follows
            TIME STEP if the model defines ``SAVEPER = TIME STEP``).
        members_per_pass : int, optional
            Members advanced together through the time loop (default :data:`MEMBERS_PER_PASS`);
            changes the speed only, never a value.
        fold_zeros : bool, optional
            Run each call with code specialised to the constants that are 0 in all its members
            (:mod:`sd_model.batch.zeros`; default :data:`FOLD_ZEROS`); changes the speed only.
        """
        info = self.info
        dt = float(info.time_step if time_step is None else time_step)
        saveper = float(saveper) if saveper is not None else dt if info.saveper_is_time_step else info.saveper
        times = Times(info.initial_time, float(info.final_time if final_time is None else final_time), dt, saveper)
        return BatchSim(self, list(resolve_outputs(info, outputs)), times, members_per_pass, fold_zeros)


class BatchSim:
    """Compiled code of one :class:`BatchModel` for fixed outputs and time settings.

    ``times`` holds the saved times (Year). :meth:`run_sets` runs N parameter sets, in passes of
    at most ``members_per_pass`` members (see :data:`MEMBERS_PER_PASS`). ``source`` and ``_fn``
    are the generic code (every constant any value); with ``fold_zeros`` (default
    :data:`FOLD_ZEROS`) a call runs the code specialised to its constants that are 0 in every
    member (:meth:`code_for`), emitted once per such set and kept.
    """

    def __init__(self, batch: BatchModel, names: list[str], times: Times,
                 members_per_pass: int = MEMBERS_PER_PASS, fold_zeros: bool | None = None) -> None:
        if int(members_per_pass) < 1:
            raise SDModelError(f"members_per_pass must be a positive whole number, got {members_per_pass!r}")
        self.members_per_pass = int(members_per_pass)
        info = self.info = batch.info
        self.model, self.names = batch.model, names
        dt, saveper, span = times.dt, times.saveper, times.final - times.initial
        if not (dt > 0 and span >= 0):
            raise SDModelError(f"bad time settings: final time {times.final:g}, time step {dt:g}")
        steps, every = span / dt, saveper / dt
        if abs(steps - round(steps)) > 1e-9 or abs(every - round(every)) > 1e-9 or every < 0.5:
            raise SDModelError(f"FINAL TIME - INITIAL TIME ({span:g}) and SAVEPER "
                               f"({saveper:g}) must be whole multiples of TIME STEP ({dt:g})")
        self.n_steps, self.every = int(round(steps)), int(round(every))
        self.times = times.coords()
        # the clock adds TIME STEP once per step, as pysimlin and PySD do: with a step that is not a
        # binary fraction (1/20) INITIAL TIME + k x dt differs from it in the last bits
        self._clock = np.cumsum(np.r_[times.initial, np.full(self.n_steps, dt)])
        self._settings = {"initial time": times.initial, "final time": times.final, "time step": dt,
                          "saveper": saveper}
        self.fold_zeros = FOLD_ZEROS if fold_zeros is None else bool(fold_zeros)
        self._generic = self._build(self.model, None)
        self.source, self._fn = self._generic.source, self._generic.fn
        self._variants: dict[frozenset[str], Code] = {}
        self._dims = {n: v.dims for n, v in info.variables.items()}
        self._dims.update({n: e.dims for n, e in self.model.eqs.items()})

    def _build(self, model: Model, loop_trees: dict[str, object] | None, zero: frozenset[str] = frozenset()) -> Code:
        """Emit and compile the code of ``model`` (the loop's trees ``loop_trees``, see :func:`emit_source`)."""
        try:
            source = emit_source(model, self.names, self._settings, loop_trees)
        except UnsupportedError as exc:
            raise ModelFileError(str(exc)) from None
        namespace: dict[str, Any] = {"np": np, "_perm": _perm, "_tfirst": _tfirst, **HELPERS}
        for k, (xs, ys) in enumerate(model.lookups.values()):
            namespace[f"L{k}_x"], namespace[f"L{k}_y"] = np.array(xs, float), np.array(ys, float)
        namespace["CLOCK"] = self._clock
        exec(compile(source, f"<batch code of {self.info.path.name}>", "exec"), namespace)  # noqa: S102
        return Code(model, source, namespace, zero)

    def code_for(self, K: Mapping[str, np.ndarray]) -> Code:
        """The code a call with constants ``K`` (identifier -> (dims..., members)) runs.

        With :attr:`fold_zeros`, the code specialised to the constants that are 0 in every
        element and member of ``K`` (:func:`sd_model.batch.zeros.fold_zeros`), emitted at the
        first call with that set (about 0.1 s for the shipped model) and kept; the generic code
        where no constant is 0, folding is off, or the folded code could not equal it.
        """
        if not self.fold_zeros:
            return self._generic
        zeros = zero_constants(self.model, K)
        if not zeros:
            return self._generic
        code = self._variants.get(zeros)
        if code is None:
            folded = fold_zeros(self.model, zeros, self._settings)
            code = self._generic if folded is None else self._build(folded.model, folded.loop_trees, folded.zero)
            if len(self._variants) >= _MAX_VARIANTS:
                del self._variants[next(iter(self._variants))]
            self._variants[zeros] = code
        return code

    def _shape(self, name: str) -> tuple[int, ...]:
        return tuple(len(self.info.subscripts[d]) for d in self._dims[name])

    def constants(self, n: int, base: Mapping[str, Any] | None = None,
                  columns: Sequence[Parameter] = (),
                  values: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Constant arrays (dims..., n): defaults, then ``base`` (scenario params), then the columns."""
        out = {}
        for name, ident in self.model.consts.items():
            var = self.info.variables[name]
            if var.dims:
                flat = np.array([var.default[",".join(c)] for c in cells(self.info, var)], dtype=float)  # type: ignore
                arr = np.repeat(flat.reshape(self._shape(name))[..., None], n, axis=-1)
            else:
                arr = np.full(n, float(var.default))  # type: ignore[arg-type]
            over = (base or {}).get(name)
            if isinstance(over, Mapping):
                for key, v in over.items():
                    arr[self._cell(name, key)] = float(v)
            elif over is not None:
                arr[...] = float(over)
            out[ident] = arr
        for j, param in enumerate(columns):
            arr = out[self.model.consts[param.name]]
            arr[self._cell(param.name, ",".join(param.cell)) if param.cell else ...] = values[:, j]  # type: ignore[index]
        return out

    def _cell(self, name: str, key: str) -> tuple[int, ...]:
        """Index of the element ``key`` (``"East"``, ``"East,West"``; case and spaces ignored) of constant ``name``."""
        var = self.info.variables[name]
        return tuple(self.info.subscripts[d].index(e) for d, e in zip(var.dims, element_tuple(self.info, var, key)))

    def run_constants(self, K: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
        """Simulate ``n`` members from constant arrays ``K``; return {name: (member, time, *dims)}.

        ``K`` maps each constant's identifier to an array (dims..., n), as :meth:`constants`
        makes it. More than :attr:`members_per_pass` members run in passes of equal size (within
        one member), one after the other, each on its own contiguous copy of its members'
        constants; the results are the same as from one pass.
        """
        code = self.code_for(K)
        passes = -(-n // self.members_per_pass)
        if passes <= 1:
            return self._run_pass(code, K, n)
        out: dict[str, np.ndarray] = {}
        bounds = np.linspace(0, n, passes + 1).round().astype(int)
        for a, b in zip(bounds[:-1], bounds[1:]):
            part = self._run_pass(code, {k: np.ascontiguousarray(v[..., a:b]) for k, v in K.items()}, int(b - a))
            for name, arr in part.items():
                if name not in out:
                    out[name] = np.empty((n, *arr.shape[1:]), dtype=arr.dtype)
                out[name][a:b] = arr
        return out

    def _run_pass(self, code: Code, K: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
        """:meth:`run_constants` for ``n`` members in one pass of the time loop of ``code``."""
        fn, model = code.fn, code.model
        with np.errstate(all="ignore"):
            K = {**K, **fn["setup"](K, n)}
            S = fn["init"](K, n)
            saved = {ident: np.empty((len(self.times), *arr.shape)) for ident, arr in S.items()}
            fn["run"](K, S, n, self.n_steps, self.every, saved, BLOCK_STEPS, shared_by_members(K, fn["BLOCK_READS"]))
            post = fn["post"](K, saved, self._clock[::self.every, None], n)
        out = {}
        for name in self.names:
            full = self._shape(name) + (len(self.times), n)
            if name in model.consts or level(model, name, ()) == 0:
                ident = model.consts.get(name) or model.eqs[name].ident
                arr = np.broadcast_to(K[ident][..., None, :], full)
            elif model.eqs[name].ident in saved:  # a stock, or an auxiliary the loop saved
                arr = np.moveaxis(saved[model.eqs[name].ident], 0, -2)
            else:
                arr = np.broadcast_to(post[model.eqs[name].ident], full)
            out[name] = np.ascontiguousarray(np.moveaxis(arr, (-1, -2), (0, 1)))
        return out

    def run_sets(self, base: Mapping[str, Any], columns: Sequence[Parameter], values: np.ndarray) -> SetResults:
        """Run one member per row of ``values`` (one column per :class:`~sd_model.parameters.Parameter`).

        Returns ({name: (member, time, *dims)}, failed flags (all False: non-finite values
        are flagged by the caller), messages).
        """
        values = np.asarray(values, float).reshape(len(values), len(columns))
        n = len(values)
        return self.run_constants(self.constants(n, base, columns, values), n), np.zeros(n, bool), [""] * n


class BatchEngine(Engine):
    """The batch engine behind the :class:`sd_model.engines.Engine` interface."""

    name = "batch"
    compile_before_fork = True

    def __init__(self, mdl_path: str | Path) -> None:
        super().__init__(mdl_path)
        self._batch = BatchModel(self.info)
        self._sims: dict[tuple, BatchSim] = {}

    def _sim(self, names: Sequence[str], times: Times) -> BatchSim:
        key = (tuple(names), times)
        if key not in self._sims:
            self._sims = {key: BatchSim(self._batch, list(names), times)}
        return self._sims[key]

    def _simulate(self, overrides: dict, names: list[str], times: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        sim = self._sim(names, times)
        base = {n: ({",".join(c): v for c, v in val.items()} if isinstance(val, dict) else val)
                for n, val in overrides.items()}
        arrays = sim.run_constants(sim.constants(1, base), 1)
        return sim.times, {n: a[0] for n, a in arrays.items()}

    def runner(self, spec: RunSpec) -> Runner:
        """All members of a chunk in one vectorised run, compiled once for ``spec``'s outputs and times.

        The code specialised to the constants at 0 under ``spec``'s parameters is emitted here
        too (:meth:`BatchSim.code_for`): a runner made before worker processes fork serves them
        without emitting it again in each, unless their members change a constant from 0.
        """
        sim = self._sim(spec.outputs, self._check(spec))
        sim.code_for(sim.constants(1, spec.params))
        return sim
