"""The identity stage's phone step at scale: distinct phone values normalised per second.

Phones go through libphonenumber in Python, once per distinct value, in chunks
pulled out of the engine and loaded back as a mapping table. This builds N
distinct UK mobiles written in several styles, runs that step alone and prints
its time, throughput and the process's peak memory.

    .venv/bin/python benchmarks/phone_normalise.py [--phones 1000000]
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

from personify import Workspace
from personify.identity._normalise import install_macros
from personify.identity.linking import IdentityResolver
from personify.progress import no_progress


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--phones", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.init(Path(tmp) / "ws", locale={"country": "GB"})
        engine = ws.engine
        install_macros(engine)
        # 0740 0000000 + i: all allocated mobiles, each in one of four writing styles
        # (so 1M distinct numbers too: the worst case, the validity cache never hits).
        engine.sql(
            f"""CREATE TEMP TABLE _raw_ids AS
            WITH n AS (SELECT i, '740' || lpad(CAST(i AS VARCHAR), 7, '0') AS d
                       FROM range({args.phones}) t(i))
            SELECT 'crm' AS source, CAST(i AS VARCHAR) AS record_id, 'phone' AS id_type,
                   CASE i % 4 WHEN 0 THEN '0' || d[1:4] || ' ' || d[5:]
                              WHEN 1 THEN '+44 ' || d[1:4] || ' ' || d[5:]
                              WHEN 2 THEN '(0' || d[1:4] || ') ' || d[5:7] || ' ' || d[8:]
                              ELSE '0044' || d END AS raw_value
            FROM n"""
        )
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        start = time.perf_counter()
        IdentityResolver(ws)._phone_map(no_progress)
        seconds = time.perf_counter() - start
        valid = engine.scalar("SELECT count(id_value) FROM _phone_e164")
        ws.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "distinct_phones": args.phones,
                "valid": valid,
                "seconds": round(seconds, 1),
                "per_second": round(args.phones / seconds),
                "peak_rss_mb_before": round(before),
                "peak_rss_mb": round(peak),
            }
        )
    )


if __name__ == "__main__":
    main()
