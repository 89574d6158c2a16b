"""Mutation testing of ``contracts/registry/CredentialRegistry.sol`` against the forge tests in ``tests/foundry/``.

Each mutant is the contract with one small change a mistaken edit could make; the tests must notice (kill) it.
The operators, applied to code inside function bodies and headers only (never to comments or strings):

==========  ======================================================================================
``ROR``     relational operator: ``==``/``!=`` swapped; ``<``, ``<=``, ``>``, ``>=`` moved by one step and negated
``LOR``     ``&&`` and ``||`` swapped
``NOT``     a ``!`` removed
``AOR``     ``+``/``-``, ``<<``/``>>``, ``&``/``|``, ``|=``/``&=`` and prefix ``++``/``--`` swapped
``POST``    ``x = ++counter`` made ``x = counter++``
``LIT``     an integer literal plus or minus one
``IF``      an ``if`` condition replaced by ``true`` and by ``false`` (``false`` removes a ``require``-like check)
``DEL``     a statement deleted: an assignment, an increment, an ``emit``, a call made for its effect
``MOD``     a modifier removed (``onlyRole(DEFAULT_ADMIN_ROLE)``, ``whenNotPaused``)
``ENV``     ``block.timestamp`` and ``block.number`` swapped; ``msg.sender`` made ``tx.origin``
==========  ======================================================================================

The mutants are numbered in source order, so the list is the same on every machine for the same contract.
The tests are compiled once (they deploy the registry from its creation code, see
``tests/foundry/utils/RegistryFixture.sol``); the mutants are compiled in batches by the project's compiler
(``anchor.chain.compiler``: the pinned solcjs, offline), without the optimizer (faster; the optimizer does not
change what the code does), and each one runs the whole forge suite with the ``mutation`` profile of
``foundry.toml`` (fewer fuzz and invariant runs) until the first failing test. A mutant that does not compile is
stillborn and not counted. A mutant is killed when a test fails or the run times out. Equivalent mutants (no
test can tell them from the contract) are not excluded: they count as survivors. The one known today deletes
``check.status = CredentialStatus.Valid;`` in ``credentialStatus``: ``Valid`` is the zero value the check starts
with. Mutants that change only gas (how often a bitmap word is written) are killed by the gas comparisons of
``test_revokeCredentials_*``.

    python tools/mutate_registry.py                 # every mutant
    python tools/mutate_registry.py --sample 60     # 60 mutants evenly spread over the list (what CI runs)
    python tools/mutate_registry.py --list          # print the mutants, run nothing

The score is printed as ``mutation score: K/N killed (P%)``; the exit status is 1 below ``--min-score``
(default 90). A JSON report is written to ``.build/mutation/report.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from foundry import ROOT, forge_binary  # tools/foundry.py, next to this file

from anchor.chain import compiler
from anchor.errors import CompilerError

TARGET = "contracts/registry/CredentialRegistry.sol"
CONTRACT = "CredentialRegistry"
CODE_VARIABLE = "ANCHOR_REGISTRY_CREATION_CODE"
REPORT = ROOT / ".build" / "mutation" / "report.json"
Add = Callable[[str, int, int, str], None]  # (operator, start, end, replacement)
BATCH = 12  # mutants per compiler run: the fixed cost of a solcjs run is shared, a stillborn one costs a rerun


@dataclass(frozen=True)
class Mutant:
    number: int
    operator: str
    line: int
    start: int
    end: int
    original: str
    replacement: str

    def apply(self, source: str) -> str:
        return source[: self.start] + self.replacement + source[self.end :]

    def describe(self) -> str:
        replacement = self.replacement.strip() or "(deleted)"
        return f"#{self.number} {self.operator} line {self.line}: {self.original.strip()!r} -> {replacement!r}"


@dataclass
class Outcome:
    mutant: Mutant
    status: str  # killed, survived, stillborn
    seconds: float = 0.0
    detail: str = ""


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)


# ---------------------------------------------------------------------------------------------- finding mutants


def code_mask(source: str) -> str:
    """``source`` with every character of a comment or string literal replaced by a space (offsets kept)."""
    out = list(source)
    i, n = 0, len(source)
    while i < n:
        if source.startswith("//", i):
            j = source.find("\n", i)
            j = n if j < 0 else j
        elif source.startswith("/*", i):
            j = source.find("*/", i + 2)
            j = n if j < 0 else j + 2
        elif source[i] in "\"'":
            quote, j = source[i], i + 1
            while j < n and source[j] != quote:
                j += 2 if source[j] == "\\" else 1
            j += 1
        else:
            i += 1
            continue
        for k in range(i, min(j, n)):
            if out[k] != "\n":
                out[k] = " "
        i = j
    return "".join(out)


def matching(mask: str, open_at: int) -> int:
    """The offset of the bracket closing the one at ``open_at``."""
    pairs = {"(": ")", "{": "}", "[": "]"}
    opener, closer = mask[open_at], pairs[mask[open_at]]
    depth = 0
    for i in range(open_at, len(mask)):
        if mask[i] == opener:
            depth += 1
        elif mask[i] == closer:
            depth -= 1
            if depth == 0:
                return i
    raise ValueError(f"unbalanced {opener!r} at offset {open_at}")


def functions(mask: str) -> Iterator[tuple[int, int, int]]:
    """(header start, body start, body end) of every function and constructor with a body."""
    for match in re.finditer(r"\b(function|constructor)\b", mask):
        brace = mask.find("{", match.end())
        semicolon = mask.find(";", match.end())
        if brace < 0 or 0 <= semicolon < brace:
            continue  # an interface declaration without a body
        yield match.start(), brace, matching(mask, brace)


TOKEN = re.compile(r"<<=|>>=|<<|>>|==|!=|<=|>=|=>|&&|\|\||\+\+|--|\+=|-=|\|=|&=|[<>!&|+\-=]")
RELATIONAL = {"==": ["!="], "!=": ["=="], "<": ["<=", ">="], "<=": ["<", ">"], ">": [">=", "<="], ">=": [">", "<"]}
SWAPS = {"&&": ["||"], "||": ["&&"], "<<": [">>"], ">>": ["<<"], "+": ["-"], "-": ["+"], "|=": ["&="]}
INTEGER = re.compile(r"(?<![\w.])(0x[0-9a-fA-F]+|\d+)(?![\w.])")
DECLARATION = re.compile(r"(uint\d*|int\d*|bytes\d*|bool|address|string|mapping\s*\(|[A-Z]\w*\s+(storage|memory)\b)")
EFFECT_CALL = re.compile(r"_\w+\s*\(")


def find_mutants(source: str) -> list[Mutant]:
    mask = code_mask(source)
    found: list[tuple[str, int, int, str]] = []  # operator, start, end, replacement

    def add(operator: str, start: int, end: int, replacement: str) -> None:
        found.append((operator, start, end, replacement))

    for header_start, body_start, body_end in functions(mask):
        header = mask[header_start:body_start]
        for modifier in re.finditer(r"onlyRole\(DEFAULT_ADMIN_ROLE\)|whenNotPaused", header):
            add("MOD", header_start + modifier.start(), header_start + modifier.end(), "")
        body = mask[body_start:body_end]
        _operators(body, body_start, add)
        _conditions(mask, body_start, body_end, add)
        _statements(mask, body_start, body_end, add)

    unique = sorted(set(found), key=lambda item: (item[1], item[2], item[0], item[3]))
    mutants: list[Mutant] = []
    for operator, start, end, replacement in unique:
        line = source.count("\n", 0, start) + 1
        mutants.append(Mutant(len(mutants) + 1, operator, line, start, end, source[start:end], replacement))
    return mutants


def _operators(body: str, offset: int, add: Add) -> None:
    for token in TOKEN.finditer(body):
        text, start, end = token.group(), offset + token.start(), offset + token.end()
        if text in RELATIONAL:
            for replacement in RELATIONAL[text]:
                add("ROR", start, end, replacement)
        elif text in SWAPS:
            before = body[: token.start()].rstrip()
            if text in "+-" and (not before or before[-1] in "=(,[<>!&|?:+-*/%"):
                continue  # a unary sign, not an operator between two values
            add("LOR" if text in ("&&", "||") else "AOR", start, end, SWAPS[text][0])
        elif text == "!":
            add("NOT", start, end, "")
        elif text in ("++", "--"):
            prefix = re.match(r"\s*(_?\w[\w.\[\]]*)", body[token.end() :])
            if prefix:  # prefix form: swap the operator; in `x = ++y` also make it postfix
                add("AOR", start, end, "--" if text == "++" else "++")
                before = body[: token.start()].rstrip()
                if before.endswith("=") and not before.endswith(("==", "!=", "<=", ">=")):
                    operand = prefix.group(1)
                    add("POST", start, end + len(prefix.group(0)), " " + operand + text)
        elif text == "&" or text == "|":
            add("AOR", start, end, "|" if text == "&" else "&")
    for literal in INTEGER.finditer(body):
        text = literal.group()
        value = int(text, 16) if text.startswith("0x") else int(text)
        start, end = offset + literal.start(), offset + literal.end()
        for changed in (value + 1, value - 1):
            if changed >= 0:
                add("LIT", start, end, hex(changed) if text.startswith("0x") else str(changed))
    for name, other in (("block.timestamp", "block.number"), ("block.number", "block.timestamp")):
        for match in re.finditer(re.escape(name) + r"\b", body):
            add("ENV", offset + match.start(), offset + match.end(), other)
    for match in re.finditer(r"\bmsg\.sender\b", body):
        add("ENV", offset + match.start(), offset + match.end(), "tx.origin")


def _conditions(mask: str, start: int, end: int, add: Add) -> None:
    for match in re.finditer(r"\bif\s*\(", mask[start:end]):
        open_at = start + match.end() - 1
        close_at = matching(mask, open_at)
        add("IF", open_at + 1, close_at, "true")
        add("IF", open_at + 1, close_at, "false")


def _statements(mask: str, start: int, end: int, add: Add) -> None:
    """Expression statements of the body (depth-0 `;`-terminated, not declarations, returns or reverts)."""
    depth, statement_start = 0, start + 1
    for i in range(start + 1, end):
        char = mask[i]
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char in "{}" and depth == 0:
            statement_start = i + 1
        elif char == ";" and depth == 0:
            text = mask[statement_start:i].strip()
            first = statement_start + (len(mask[statement_start:i]) - len(mask[statement_start:i].lstrip()))
            statement_start = i + 1
            if not text or text.startswith(("return", "revert", "for", "if", "else")) or DECLARATION.match(text):
                continue
            if (
                text.startswith(("emit ", "++", "--"))
                or re.search(r"(?<![=!<>])(=|\|=|&=|\+=|-=)(?!=)", text)
                or EFFECT_CALL.match(text)
            ):
                add("DEL", first, i + 1, "")


# ---------------------------------------------------------------------------------------------- compiling


def compile_mutants(mutants: list[Mutant], source: str, sources: dict[str, str]) -> dict[int, str | None]:
    """Creation code (hex) of each mutant, or None for one that does not compile."""
    pending = list(mutants)
    result: dict[int, str | None] = {}
    found = compiler.find_compiler(ROOT)
    while pending:
        units = {_unit(m): _relocated(m.apply(source)) for m in pending}
        settings = compiler.standard_input({**sources, **units})
        settings["settings"]["optimizer"] = {"enabled": False, "runs": compiler.OPTIMIZER_RUNS}
        settings["settings"]["outputSelection"] = {unit: {CONTRACT: ["evm.bytecode.object"]} for unit in units}
        output = found.run(settings, ROOT)
        broken = {
            error.get("sourceLocation", {}).get("file")
            for error in output.get("errors", [])
            if error.get("severity") == "error"
        }
        if broken:
            unknown = broken - set(units)
            if unknown:
                raise CompilerError(f"the unmutated sources do not compile: {sorted(map(str, unknown))}")
            for mutant in pending:
                if _unit(mutant) in broken:
                    result[mutant.number] = None
            pending = [m for m in pending if _unit(m) not in broken]
            continue
        for mutant in pending:
            result[mutant.number] = output["contracts"][_unit(mutant)][CONTRACT]["evm"]["bytecode"]["object"]
        pending = []
    return result


def _unit(mutant: Mutant) -> str:
    return f"mutants/m{mutant.number}/CredentialRegistry.sol"


def _relocated(text: str) -> str:
    """A mutant's text importing its neighbours by their full source unit names."""
    return text.replace('from "./', 'from "contracts/registry/')


# ---------------------------------------------------------------------------------------------- testing


def forge() -> list[str]:
    return [str(forge_binary())]


def build_tests() -> None:
    process = subprocess.run(  # noqa: S603 - fixed argument list, no shell
        [*forge(), "build"], cwd=ROOT, env=_env(None), capture_output=True, text=True, check=False
    )
    if process.returncode != 0:
        raise SystemExit(f"forge build failed:\n{process.stdout}\n{process.stderr}")


def run_tests(code: str, timeout: float, match_contract: str | None = None) -> tuple[bool, str]:
    """(passed, the first failing test or a note) of the forge suite against the creation code ``code``."""
    # Failing fuzz inputs and invariant sequences are kept apart per mutant: forge replays persisted failures,
    # which would make one mutant's outcome depend on the ones before it.
    with tempfile.TemporaryDirectory(prefix="anchor-mutant-") as failures:
        env = _env("0x" + code) | {
            "FOUNDRY_FUZZ_FAILURE_PERSIST_DIR": str(Path(failures) / "fuzz"),
            "FOUNDRY_INVARIANT_FAILURE_PERSIST_DIR": str(Path(failures) / "invariant"),
        }
        try:
            process = subprocess.run(  # noqa: S603 - fixed argument list, no shell
                [*forge(), "test", "--fail-fast", *(["--match-contract", match_contract] if match_contract else [])],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return False, f"timed out after {timeout:.0f} s"
    if "Compiling" in process.stdout:
        raise SystemExit("forge recompiled the tests during the mutation run: run it on a checkout nobody edits")
    if process.returncode == 0:
        return True, ""
    report = process.stdout.partition("Failing tests:")[2] or process.stdout
    failing = re.search(r"\b((?:setUp|test|invariant)\w*)\(", report)
    return False, failing.group(1) if failing else (process.stdout + process.stderr).strip()[-300:]


def _env(code: str | None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != CODE_VARIABLE}
    env["FOUNDRY_PROFILE"] = "mutation"
    if code is not None:
        env[CODE_VARIABLE] = code
    return env


# ---------------------------------------------------------------------------------------------- main


def sample(mutants: list[Mutant], count: int) -> list[Mutant]:
    """``count`` mutants spread evenly over the list (the first, then every ``len / count``-th)."""
    if count >= len(mutants):
        return list(mutants)
    return [mutants[i * len(mutants) // count] for i in range(count)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=int, help="run this many mutants, evenly spread (default: all)")
    parser.add_argument("--list", action="store_true", help="print the mutants and stop")
    parser.add_argument("--min-score", type=float, default=90.0, help="fail below this percentage (default 90)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per mutant before it counts as killed")
    parser.add_argument(
        "--match-contract", metavar="REGEX", help="only the forge test contracts matching REGEX (e.g. Invariants)"
    )
    args = parser.parse_args(argv)

    source = (ROOT / TARGET).read_text(encoding="utf-8")
    every = find_mutants(source)
    chosen = sample(every, args.sample) if args.sample else every
    if args.list:
        for mutant in chosen:
            print(mutant.describe())
        print(f"{len(chosen)} of {len(every)} mutants")
        return 0

    started = time.perf_counter()
    sources = compiler.collect_sources(ROOT)
    label = f"a sample of {len(chosen)} of the {len(every)}" if len(chosen) < len(every) else f"all {len(every)}"
    tests = f"the test contracts matching {args.match_contract!r}" if args.match_contract else "all forge tests"
    print(f"mutation testing {TARGET}: {label} mutants, {tests}, forge profile `mutation`", flush=True)
    build_tests()

    original = Mutant(0, "NONE", 1, 0, 0, "", "")
    code = compile_mutants([original], source, sources)[0]
    assert code is not None
    passed, detail = run_tests(code, args.timeout, args.match_contract)
    if not passed:
        print(f"the tests fail on the unmutated contract compiled for mutation: {detail}", file=sys.stderr)
        return 2

    report = Report()
    batches = [chosen[i : i + BATCH] for i in range(0, len(chosen), BATCH)]
    with ThreadPoolExecutor(max_workers=1) as pool:  # compile the next batch while this one is tested
        upcoming: Future[dict[int, str | None]] | None = (
            pool.submit(compile_mutants, batches[0], source, sources) if batches else None
        )
        for index, batch in enumerate(batches):
            assert upcoming is not None
            codes = upcoming.result()
            if index + 1 < len(batches):
                upcoming = pool.submit(compile_mutants, batches[index + 1], source, sources)
            for mutant in batch:
                report.outcomes.append(_test(mutant, codes[mutant.number], args.timeout, args.match_contract))
                _progress(report.outcomes[-1], len(report.outcomes), len(chosen))

    return _summarise(report, len(every), time.perf_counter() - started, args.min_score)


def _test(mutant: Mutant, code: str | None, timeout: float, match_contract: str | None) -> Outcome:
    if code is None:
        return Outcome(mutant, "stillborn", detail="does not compile")
    started = time.perf_counter()
    passed, detail = run_tests(code, timeout, match_contract)
    return Outcome(mutant, "survived" if passed else "killed", time.perf_counter() - started, detail)


def _progress(outcome: Outcome, done: int, total: int) -> None:
    note = f" ({outcome.detail})" if outcome.status == "killed" and outcome.detail else ""
    print(f"  [{done}/{total}] {outcome.status:9} {outcome.mutant.describe()}{note}", flush=True)


def _summarise(report: Report, generated: int, seconds: float, min_score: float) -> int:
    killed, survived, stillborn = report.count("killed"), report.count("survived"), report.count("stillborn")
    total = killed + survived
    score = 100.0 * killed / total if total else 0.0
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(
        json.dumps(
            {
                "target": TARGET,
                "generated": generated,
                "tested": len(report.outcomes),
                "killed": killed,
                "survived": survived,
                "stillborn": stillborn,
                "score": round(score, 1),
                "seconds": round(seconds, 1),
                "outcomes": [asdict(outcome) for outcome in report.outcomes],
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    for outcome in report.outcomes:
        if outcome.status == "survived":
            print(f"  SURVIVED {outcome.mutant.describe()}")
    print(
        f"mutation score: {killed}/{total} killed ({score:.1f}%), {stillborn} stillborn (not compiling, not "
        f"counted), {len(report.outcomes)} of {generated} mutants tested in {seconds:.0f} s; report "
        f"{REPORT.relative_to(ROOT)}"
    )
    if score < min_score:
        print(f"mutation score {score:.1f}% is below the required {min_score:.0f}%", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
