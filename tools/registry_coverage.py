"""Branch coverage of ``contracts/registry/CredentialRegistry.sol`` by its forge unit tests, measured offline.

Runs ``forge coverage`` (with the project's solc look-alike, see foundry.toml) on the unit and fuzz tests of
``tests/foundry/CredentialRegistry.t.sol`` and ``CredentialRegistryGas.t.sol`` only (not the invariants),
prints the registry's row and fails unless every branch is covered (``--min-branches``, default 100)::

    python tools/registry_coverage.py
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time

from foundry import ROOT, forge_binary

TARGET = "contracts/registry/CredentialRegistry.sol"
#: The unit and fuzz tests: every path's (CredentialRegistry.t.sol) and those of the gas-saving storage layout.
TESTS = "tests/foundry/{CredentialRegistry,CredentialRegistryGas}.t.sol"
CELL = r"\s*([\d.]+)% \((\d+)/(\d+)\)\s*\|"
ROW = re.compile(re.escape(TARGET) + r"\s*\|" + CELL * 4)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--min-branches", type=float, default=100.0, help="required branch coverage, in percent")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    process = subprocess.run(  # noqa: S603 - fixed argument list, no shell
        [
            str(forge_binary()),
            "coverage",
            "--report",
            "summary",
            "--match-path",
            TESTS,
            "--no-match-coverage",
            "^(tests|node_modules)/",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if process.returncode != 0:
        print(process.stdout[-4000:], process.stderr[-4000:], sep="\n", file=sys.stderr)
        print(f"forge coverage failed (exit status {process.returncode})", file=sys.stderr)
        return 1
    row = ROW.search(process.stdout)
    if row is None:
        print(process.stdout[-4000:], file=sys.stderr)
        print(f"forge coverage printed no row for {TARGET}", file=sys.stderr)
        return 1
    # Each cell is "P% (covered/total)": keep covered and total of lines, statements, branches, functions.
    counts = [int(value) for i, value in enumerate(row.groups()) if i % 3 != 0]
    lines, all_lines, statements, all_statements, branches, all_branches, functions, all_functions = counts
    percent = 100.0 * branches / all_branches if all_branches else 100.0
    print(
        f"registry coverage by {TESTS} ({time.perf_counter() - started:.0f} s): branches {branches}/{all_branches} "
        f"({percent:.1f}%), lines {lines}/{all_lines}, statements {statements}/{all_statements}, "
        f"functions {functions}/{all_functions}"
    )
    if percent < args.min_branches:
        print(f"branch coverage of {TARGET} is {percent:.1f}%, below the required {args.min_branches:.0f}%")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
