"""A vectorised engine generated from the Vensim file: N parameter sets advance together.

The .mdl equations are parsed (:mod:`.parse`), analysed (:mod:`.translate`), turned into
numpy code (:mod:`.emit`) and run (:mod:`.engine`); no equation is written in Python by hand.

>>> from sd_model.batch import BatchModel
>>> sim = BatchModel("vensim/regional_finance_economy.mdl").compile(["National GDP"])  # doctest: +SKIP
>>> K = sim.constants(1000)                       # every constant, (dims..., 1000)   # doctest: +SKIP
>>> out = sim.run_constants(K, 1000)              # {"National GDP": (1000, 123)}     # doctest: +SKIP
"""
from .engine import BatchEngine, BatchModel, BatchSim

__all__ = ["BatchEngine", "BatchModel", "BatchSim"]
