"""Release the time loop's arrays as soon as the step has read them for the last time.

Every name the Euler loop's body assigns (an auxiliary, a common sub-expression) is bound anew
at every step, so without help its array of the previous step lives until the new one has been
computed: the step holds two generations of many arrays, and the allocator keeps handing out
fresh memory instead of reusing the block just freed. A ``del name`` right after the statement
that reads ``name`` for the last time in the step gives the array back at once, so the next
temporaries reuse warm memory (a smaller working set). The operations and their order do not
change, so the values are bit for bit the same.
"""
from __future__ import annotations

import ast
import textwrap

__all__ = ["release_dead"]


def release_dead(units: list[list[str]], assigned: set[str], indent: str) -> list[str]:
    """The lines of ``units`` with ``del`` statements after the last reader of each name.

    ``units`` are the loop body's statements in order, each a list of code lines (a statement
    with an indented block, such as the saving of the step's values under ``if k % every == 0:``,
    is one unit); ``assigned`` the names the body binds at every step, the only ones released
    (block rows, stocks and constants are not the body's to release). A name the body assigns
    but never reads is left alone. Each ``del`` line gets ``indent``.
    """
    last: dict[str, int] = {}
    for i, unit in enumerate(units):
        tree = ast.parse(textwrap.dedent("\n".join(unit)))
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in assigned:
                last[node.id] = i
    out: list[str] = []
    for i, unit in enumerate(units):
        out += unit
        dead = [name for name, at in last.items() if at == i]
        if dead:
            out.append(f"{indent}del {', '.join(sorted(dead))}")
    return out
