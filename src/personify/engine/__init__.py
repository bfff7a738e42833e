"""The engine layer: where tables live and transforms run.

Stages write their transforms as Ibis expressions and hand them to an
:class:`Engine`, which materialises them as tables. DuckDB (embedded, one file)
is the default engine; a Spark engine fills the same small interface.
"""

from personify.engine._duckdb import DuckDBEngine, Engine

__all__ = ["DuckDBEngine", "Engine"]
