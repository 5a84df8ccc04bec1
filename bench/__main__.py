"""`python -m bench` (make bench): run every benchmark module in this package in turn."""

import pkgutil
import subprocess
import sys
from pathlib import Path

if __name__ == "__main__":
    here = Path(__file__).parent
    status = 0
    for module in sorted(m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_")):
        print(f"\n=== bench.{module} ===", flush=True)
        status |= subprocess.call([sys.executable, "-m", f"bench.{module}"])
    sys.exit(status)
