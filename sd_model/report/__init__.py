"""The comparison report: figures (:mod:`.figures`), narrative (:mod:`.narrative`) and HTML (:mod:`.document`)."""
from .figures import plot_effect_bands, plot_fan_grid, plot_fans, plot_national
from .document import build_report
from .narrative import findings

__all__ = ["build_report", "findings", "plot_effect_bands", "plot_fan_grid", "plot_fans", "plot_national"]
