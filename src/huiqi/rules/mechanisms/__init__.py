"""Mechanisms between rules: each one's Python evaluation and SQL generation side by side.

A rule's own evaluation (conditions, amount, award caps, rounding) is
``huiqi.rules.calculator.evaluate`` for one enterprise and ``huiqi.engines.compile`` for a
population. What happens *between* rules and subjects — the validity/jurisdiction gate,
award history, group stacking, shared enterprise caps, rank/quota — is a mechanism: one
module here holding the calculator's half (``apply``-style functions over ``Work`` items)
and the engines' half (SQL over the same compiled plan, for DuckDB and Spark), the way
sqlglot keeps one expression tree and one generator per dialect. :mod:`.registry` lists
them in the order both sides run them; adding a mechanism is one module plus its tests
and one registry entry.
"""

# The Python halves work on the calculator's Work items and the SQL halves on its plan:
# the calculator package is loaded first, whichever module of this package is imported
# first (the calculator imports the Python halves while it loads).
import huiqi.rules.calculator  # noqa: F401
