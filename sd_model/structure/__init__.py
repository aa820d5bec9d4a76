"""Model structure: sector views (Vensim sketch), diagrams, loop dominance and XMILE export.

- :mod:`.graph`: causal links between variables and the ``.mdl`` group of each variable, from the equations.
- :mod:`.views`: the view specification (``vensim/views.toml``) and the variable -> view assignment.
- :mod:`.layout`: the automatic layout of one view (stocks, valves, auxiliaries, shadow variables).
- :mod:`.sketch`: writing the Vensim sketch section into the ``.mdl`` without touching an equation.
- :mod:`.diagram`: rendering views to SVG/PNG with Simlin's renderer.
- :mod:`.link_scores`: Loops That Matter link and loop scores per array element, from the batch engine's equations.
- :mod:`.pinned`: the named loops of ``vensim/loops.toml`` as element cycles (every variant), with clear errors.
- :mod:`.loops`: Simlin's loop discovery plus the pinned named loops, one normalisation, shares by period.
- :mod:`.loops_report`, :mod:`.loop_run`, :mod:`.report_section`: tables, dominance plot, ``sd-model loops``, the
  compare-report section.
- :mod:`.xmile`: XMILE export and its round-trip check.
"""
