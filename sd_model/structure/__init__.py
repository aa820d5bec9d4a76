"""Model structure: sector views (Vensim sketch), diagrams, loop dominance and XMILE export.

- :mod:`.graph`: causal links between variables and the ``.mdl`` group of each variable, from the equations.
- :mod:`.views`: the view specification (``vensim/views.toml``) and the variable -> view assignment.
- :mod:`.layout`: the automatic layout of one view (stocks, valves, auxiliaries, shadow variables).
- :mod:`.sketch`: writing the Vensim sketch section into the ``.mdl`` without touching an equation.
- :mod:`.diagram`: rendering views to SVG/PNG with Simlin's renderer.
- :mod:`.loops`: Loops That Matter (Simlin discovery + pinned loops), shares by period, dominance plot.
- :mod:`.xmile`: XMILE export and its round-trip check.
"""
