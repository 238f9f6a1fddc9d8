"""`python -m bench [NAME ...]`: run every benchmark (or those named) one after another.

Each benchmark is its own module, bench/bench_<name>.py, runnable alone with
`python -m bench.bench_<name>`; they run in separate processes so one's warm caches or
open connections do not flatter the next.
"""

import subprocess
import sys
from pathlib import Path


def main(names: list[str]) -> int:
    modules = sorted(p.stem for p in Path(__file__).parent.glob("bench_*.py"))
    chosen = [m for m in modules if not names or m.removeprefix("bench_") in names or m in names]
    failed = []
    for module in chosen:
        print(f"\n=== {module} ===", flush=True)
        if subprocess.call([sys.executable, "-m", f"bench.{module}"]) != 0:
            failed.append(module)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
