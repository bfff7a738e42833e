"""The engine layer: where tables live and transforms run.

Stages send SQL in DuckDB's dialect, limited to what runs alike everywhere, plus the
engine methods for what differs (see ``_base.Engine``). DuckDB (embedded, one file) is
the default engine; ``SparkEngine`` (``personify[spark]``, imported only when used)
runs the same stages on Apache Spark.
"""

from personify.engine._base import Engine, Statement
from personify.engine._duckdb import DuckDBEngine

__all__ = ["DuckDBEngine", "Engine", "Statement"]
