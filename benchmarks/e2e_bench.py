"""End-to-end issuing benchmark: credential files -> ``anchor issue DIR`` -> ``anchor batch run``, on anvil.

    python benchmarks/e2e_bench.py                        # 10,000 credentials, signed and unsigned
    python benchmarks/e2e_bench.py --count 100000         # the target: 100,000 signed in under 5 minutes
    python benchmarks/e2e_bench.py --count 10000 --in-process --profile
    python benchmarks/e2e_bench.py --count 100000 --before /tmp/anchor-head   # and the code before, same run
    python benchmarks/e2e_bench.py --count 1000000 --unsigned-only --workdir /work/e2e --no-signing
    python benchmarks/e2e_bench.py --count 10000 --peer certissuer              # Blockcerts' cert-issuer, same run

``--before DIR`` measures a second source tree in the same run as the peer, the same modes and count: DIR
holds a ``src`` folder (``git archive HEAD src | tar -x -C DIR``, say), run as ``python -m anchor`` with
``PYTHONPATH=DIR/src``. Each run also measures the floor under the receipts phase: creating as many files
of a receipt's size in one folder of the same file system (open, write, close; nothing else), from one
process and from two (each half the files; the receipts of a large batch are written by two processes).
``--peer certissuer`` also runs Blockcerts' ``cert-issuer`` on its mockchain on the same count
(``certissuer_peer.run_certissuer``, in its own Python 3.10 virtualenv) and prints the ratio.

For each mode, in a fresh temporary ANCHOR_HOME with its own anvil node (``anchor node start`` on a free port,
1 s blocks, the default finality: the ``finalized`` block), set up untimed: ``anchor deploy``, the issuer's
DID key (``anchor did key create --did-key``, password from ANCHOR_KEY_PASSWORD), ``anchor issuer register``
with development account 1 as signer, and ``--count`` generated credentials written as files, 1,000 a folder
(:func:`credential_texts`: 1,000 of :func:`anchor.credentials.examples.generate_credentials`, one awarding body,
``issuer.id`` = the home's DID, each file one of them with its own ids and salt: a million in minutes).
Then, timed, the real command line as users run it (subprocesses of the venv's ``anchor``):

- ``anchor issue DIR`` (signed: each credential becomes a signed v2 credential; ``--unsigned``: legacy v1,
  the peer measured in the same run), and within it the seconds the command reports for intake itself
  (after start-up and unlocking the key);
- ``anchor batch run --dev-account 1`` until every receipt is written, split by the times its progress lines
  arrive (``built``, ``signed``, ``sent``, ``mined``, ``confirmed``, ``anchored``): start+build (process
  start, queue read, Merkle tree), send (sign and broadcast), block (until the transaction is in a block),
  finality (until the ``finalized`` block reaches it), receipts (one file per credential, or for more than
  100,000 one archive: ``anchor.issuing.receipts.ARCHIVE_ABOVE``), exit.

Peak RSS is each command's own (``os.wait4``: the process and the workers it waited for, in MB), and the
whole run's (``RUSAGE_CHILDREN``). The command line does not say how intake splits between preparing the
credentials (read, strict parse, validate, sign, in worker processes) and the queue transaction:
``--in-process`` measures that by calling what ``anchor issue`` calls (:func:`anchor.issuing.intake.issue`
with the same signer and default workers) on a copy of each home taken before intake. ``--profile`` runs
cProfile over that in-process intake of the signed home with one process (workers=1: everything in the
profiled process) and prints the top functions. Last, for context, per-credential signing time of
:func:`anchor.credentials.data_integrity.sign` against the pyld reference (``signing_bench.measure``).

Other work may share the machine: the 1-minute load average is printed next to each figure.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import re
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # signing_bench

PASSWORD = "e2e benchmark password"
COUNTRY = "FI"
SEED = 2025
#: Progress lines of `anchor batch run` (its hook), in the order a batch goes through them.
TRANSITIONS = ("built", "signed", "sent", "mined", "confirmed", "anchored")
_TRANSITION_LINES = {
    "built": re.compile(r"batch (\d+): tree of \d+ built"),
    "signed": re.compile(r"batch (\d+): transaction signed and stored"),
    "sent": re.compile(r"batch (\d+): broadcast"),
    "mined": re.compile(r"batch (\d+): in a block"),
    "confirmed": re.compile(r"batch (\d+): final in block"),
    "anchored": re.compile(r"batch (\d+): anchored as on-chain batch"),
}
FLOOR_FILES = 200_000
"""At most this many files for the file-creation floor (a rate: the 1M run need not write 2M more files)."""
_INTAKE_LINE = re.compile(r"queued (\d+), .*: (\d+) input\(s\) in ([0-9.]+) s")


def anchor_command(env: dict[str, str] | None = None) -> list[str]:
    """The ``anchor`` console script of this interpreter's environment (what users run).

    With ``PYTHONPATH`` in ``env`` (another source tree: ``--before``), ``python -m anchor`` of that tree.
    """
    script = Path(sys.executable).parent / "anchor"
    if env is not None and "PYTHONPATH" in env:
        return [sys.executable, "-m", "anchor"]
    return [str(script)] if script.exists() else [sys.executable, "-m", "anchor"]


def load() -> float:
    return os.getloadavg()[0]


@dataclass
class Command:
    """One finished command: wall seconds, its output lines with arrival times, its peak RSS (MB)."""

    seconds: float
    lines: list[tuple[float, str]]
    peak_mb: float
    peaks: list[float] = field(default_factory=list)
    """The process's own peak RSS so far (VmHWM, MB) when each line arrived (0 where unreadable)."""


def run(env: dict[str, str], *args: str, check: bool = True) -> Command:
    """Run ``anchor ARGS`` to the end, timestamping each stdout line as it arrives."""
    with tempfile.TemporaryFile("w+", encoding="utf-8") as errors:
        started = time.monotonic()
        process = subprocess.Popen(
            [*anchor_command(env), *args], env=env, stdout=subprocess.PIPE, stderr=errors, text=True, bufsize=1
        )
        lines: list[tuple[float, str]] = []
        peaks: list[float] = []
        stream: IO[str] | None = process.stdout
        assert stream is not None
        for line in stream:
            lines.append((time.monotonic() - started, line.rstrip("\n")))
            peaks.append(high_water_mb(process.pid))
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        stream.close()
        if check and process.returncode != 0:
            errors.seek(0)
            output = "\n".join(text for _, text in lines)
            raise SystemExit(f"anchor {' '.join(args)} failed ({process.returncode}):\n{output}\n{errors.read()}")
    return Command(seconds, lines, usage.ru_maxrss / 1024, peaks)


def high_water_mb(pid: int) -> float:
    """The peak RSS so far of process ``pid`` (``VmHWM``), in MB; 0 if it cannot be read."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) / 1024 if found else 0.0


def phase_peaks(command: Command) -> str:
    """The batch run's own peak RSS by the end of each transition, e.g. ``built 210M, confirmed 230M, ...``."""
    shown = []
    for (_, text), peak in zip(command.lines, command.peaks, strict=False):
        for name, pattern in _TRANSITION_LINES.items():
            if pattern.search(text):
                shown.append(f"{name} {peak:.0f}M")
    return ", ".join(shown)


@dataclass
class Home:
    """A fresh ANCHOR_HOME with its own node, registry, issuer DID key and registered issuer."""

    path: Path
    env: dict[str, str]
    did: str


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_home(path: Path, source: Path | None = None) -> Home:
    """Start the node, deploy, create the DID key, register the issuer (dev account 1 signs its batches).

    ``source``: run that source tree's ``anchor`` (``--before``) instead of this environment's.
    """
    from anchor.chain.keys import development_accounts

    env = {name: value for name, value in os.environ.items() if not name.startswith("ANCHOR_")}
    if source is not None:
        env["PYTHONPATH"] = str(source / "src")
    env |= {
        "ANCHOR_HOME": str(path),
        "ANCHOR_NODE_PORT": str(free_port()),
        "ANCHOR_NODE_BLOCK_TIME": "1",
        "ANCHOR_KEY_PASSWORD": PASSWORD,
        "PYTHONUNBUFFERED": "1",
        "COLUMNS": "200",  # rich wraps at the terminal width: keep each progress line whole
    }
    run(env, "node", "start")
    run(env, "deploy")
    created = run(env, "did", "key", "create", "--did-key")
    shown = run(env, "did", "show", "--json")
    did = json.loads("\n".join(text for _, text in shown.lines))["did"]
    assert did in "\n".join(text for _, text in created.lines)
    signer = development_accounts()[1].address
    run(env, "issuer", "register", "--name", "E2E Benchmark University", "--country", COUNTRY, "--signer", signer)
    return Home(path, env, did)


TEMPLATES = 1000
"""Distinct generated credentials the files are made from (each file: one of them with fresh ids and salt)."""


def credential_texts(count: int, did: str, *, compact: bool = False, seed: int = SEED) -> Iterator[str]:
    """``count`` realistic credentials as JSON text (``json.dumps``; ``compact``: no spaces), all distinct.

    :data:`TEMPLATES` credentials come from :func:`anchor.credentials.examples.generate_credentials` (one
    awarding body, ``issuer.id`` = ``did``); credential ``n`` is template ``n % TEMPLATES`` with its own
    credential id, subject id and salt (seeded random, so distinct ids and digests), put into the template's
    text by one ``%`` formatting: no object tree, no ``json.dumps`` per credential.
    """
    from anchor.credentials.examples import generate_credentials, issuer_for_country

    separators = (",", ":") if compact else None
    templates = []
    made = generate_credentials(min(count, TEMPLATES), seed=seed, issuer=issuer_for_country(COUNTRY), issuer_did=did)
    for credential in made:
        fields = (credential["id"], credential["credentialSubject"]["id"], credential["anchorSalt"])
        text = json.dumps(credential, ensure_ascii=False, separators=separators).replace("%", "%%")
        pieces = re.split("(" + "|".join(re.escape(json.dumps(field)) for field in fields) + ")", text)
        if len(pieces) != 7:
            raise SystemExit(f"template {credential['id']}: its ids and salt do not each occur once in its text")
        order = [[json.dumps(field) for field in fields].index(piece) for piece in pieces[1::2]]
        templates.append(("%s".join(pieces[0::2]), order))
    rng = random.Random(seed + 1)  # benchmark data, not secrets
    bits = rng.getrandbits
    for number in range(count):
        template, order = templates[number % len(templates)]
        fields = (f'"urn:uuid:{_uuid4(bits(128))}"', f'"urn:uuid:{_uuid4(bits(128))}"', f'"0x{bits(256):064x}"')
        yield template % (fields[order[0]], fields[order[1]], fields[order[2]])


def _uuid4(bits: int) -> str:
    text = f"{bits:032x}"
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-{'89ab'[int(text[16], 16) & 3]}{text[17:20]}-{text[20:32]}"


def write_credentials(folder: Path, count: int, did: str) -> None:
    """``count`` credentials (:func:`credential_texts`), one file each, 1,000 per folder (open, write, close)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    directory = -1
    try:
        for number, text in enumerate(credential_texts(count, did)):
            if number % 1000 == 0:
                if directory >= 0:
                    os.close(directory)
                sub = folder / f"{number // 1000:04d}"
                sub.mkdir(parents=True)
                directory = os.open(sub, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            descriptor = os.open(f"{number:07d}.json", flags, 0o644, dir_fd=directory)
            try:
                data = text.encode()
                if os.write(descriptor, data) != len(data):
                    raise SystemExit(f"{sub / f'{number:07d}.json'}: short write")
            finally:
                os.close(descriptor)
    finally:
        if directory >= 0:
            os.close(directory)


@dataclass
class Result:
    """The figures of one mode."""

    mode: str
    count: int
    code: str
    """Which code ran: ``now`` (this tree) or ``before`` (``--before``)."""
    intake: Command
    intake_reported: float
    batch: Command
    phases: dict[str, float]
    loads: list[float] = field(default_factory=list)
    split: tuple[float, float] | None = None  # in-process intake: prepare, queue

    @property
    def total(self) -> float:
        return self.intake.seconds + self.batch.seconds


def batch_phases(command: Command) -> dict[str, float]:
    """Seconds per phase of ``anchor batch run`` from the arrival times of its progress lines (summed over batches)."""
    seen: dict[tuple[int, str], float] = {}
    for moment, text in command.lines:
        for name, pattern in _TRANSITION_LINES.items():
            match = pattern.search(text)
            if match is not None:
                seen.setdefault((int(match.group(1)), name), moment)
    batches = sorted({batch for batch, _ in seen})
    phases = dict.fromkeys(("start+build", "send", "block", "finality", "receipts", "exit"), 0.0)
    previous = 0.0
    for batch in batches:
        times = [seen.get((batch, name)) for name in TRANSITIONS]
        if any(moment is None for moment in times):
            raise SystemExit(f"batch {batch}: missing progress lines in the output of anchor batch run")
        built, _signed, sent, mined, confirmed, anchored = (float(moment or 0.0) for moment in times)
        phases["start+build"] += built - previous
        phases["send"] += sent - built
        phases["block"] += mined - sent
        phases["finality"] += confirmed - mined
        phases["receipts"] += anchored - confirmed
        previous = anchored
    phases["exit"] = command.seconds - previous
    return phases


def count_receipts(home: Path) -> int:
    """Receipt files in the home's receipts folder, and receipt members of its archives (read by tarfile)."""
    found = sum(1 for _ in (home / "receipts").rglob("*.json"))
    return found + sum(1 for archive in (home / "receipts").rglob("*.tar") for _ in tar_receipts(archive))


def tar_receipts(archive: Path) -> Iterator[tuple[tarfile.TarFile, tarfile.TarInfo]]:
    """Each receipt member (a regular ``*.json`` file) of ``archive`` and the open archive to read it from, read
    by Python's tarfile (not anchor's own reader), in archive order."""
    with tarfile.open(archive, "r:") as tar:
        for member in tar:
            if member.isfile() and member.name.endswith(".json"):
                yield tar, member
            tar.members.clear()  # type: ignore[attr-defined]  # tarfile keeps every member read: a million take hundreds of MB


def measure_mode(
    root: Path, count: int, signed: bool, in_process: bool, profile: bool, source: Path | None = None
) -> Result:
    mode = "signed" if signed else "unsigned"
    code = "now" if source is None else "before"
    home = make_home(root / f"home-{mode}-{code}", source)
    try:
        inbox = root / f"credentials-{mode}-{code}"
        started = time.monotonic()
        write_credentials(inbox, count, home.did)
        print(f"  {mode}: {count:,} credential files written in {time.monotonic() - started:.1f} s (not timed)")
        copy = root / f"copy-{mode}"
        if in_process or profile:  # the home as intake finds it (its node's state left out)
            shutil.copytree(home.path, copy, ignore=shutil.ignore_patterns("node"))
        loads = [load()]
        intake = run(home.env, "issue", *([] if signed else ["--unsigned"]), str(inbox))
        loads.append(load())
        summary = next((m for _, text in intake.lines if (m := _INTAKE_LINE.search(text))), None)
        if summary is None or int(summary.group(1)) != count:
            raise SystemExit("anchor issue did not queue every credential:\n" + "\n".join(t for _, t in intake.lines))
        batch = run(home.env, "batch", "run", "--dev-account", "1")
        loads.append(load())
        written = count_receipts(home.path)
        if written != count:
            raise SystemExit(f"{written} receipts written for {count} credentials")
        result = Result(mode, count, code, intake, float(summary.group(3)), batch, batch_phases(batch), loads)
        print(
            f"  {mode} ({code}): anchor issue {intake.seconds:.1f} s, anchor batch run {batch.seconds:.1f} s, "
            f"{count / result.total:,.0f} credentials/s, load {'/'.join(f'{x:.1f}' for x in loads)}"
        )
    finally:
        run(home.env, "node", "stop", check=False)
    if in_process and source is None:
        result.split = in_process_intake(copy, inbox, signed, workers=None)
    if profile and signed and source is None:
        profile_copy = root / "copy-profile"
        shutil.copytree(copy, profile_copy)
        print(f"\ncProfile of the in-process signed intake of {count:,} credentials, workers=1:")
        profiler = cProfile.Profile()
        prepare, queue = in_process_intake(profile_copy, inbox, signed, workers=1, profiler=profiler)
        print(f"  prepare {prepare:.1f} s, queue {queue:.1f} s (under the profiler)")
        print_profile(profiler)
    shutil.rmtree(inbox)
    return result


def in_process_intake(
    home: Path, inbox: Path, signed: bool, *, workers: int | None, profiler: cProfile.Profile | None = None
) -> tuple[float, float]:
    """What ``anchor issue [--unsigned] DIR`` calls, in this process: seconds to prepare, then to queue."""
    from anchor.config import Settings
    from anchor.issuing import intake
    from anchor.issuing.signing import IntakeSigner
    from anchor.issuing.signing_keys import load_issuer_signer
    from anchor.issuing.store import Store

    settings = Settings(home=home)
    store = Store.open(settings)
    signer = None
    if signed:
        key = load_issuer_signer(settings, PASSWORD)
        signer = IntakeSigner.now(key.did, key.verification_method, key.private_key.private_bytes_raw())
    prepared_at: list[float] = []

    def progress(done: int, total: int | None) -> None:
        if done == total:
            prepared_at.append(time.perf_counter())

    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    summary = intake.issue(store, [str(inbox)], workers=workers, signer=signer, on_progress=progress)
    if profiler is not None:
        profiler.disable()
    ended = time.perf_counter()
    if not summary.committed or summary.refused:
        raise SystemExit(f"in-process intake refused inputs: {summary}")
    return prepared_at[0] - started, ended - prepared_at[0]


def file_creation_floor(root: Path, count: int, size: int = 4096, processes: int = 1) -> float:
    """Seconds to create ``count`` files of ``size`` bytes in a new folder under ``root`` (the receipts' floor).

    ``processes`` > 1: that many forked processes, each creating its share of the files in the same folder.
    """
    folder = root / f"floor-{processes}"
    folder.mkdir()
    data = b"x" * size
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC

    def create(start: int, stop: int) -> None:
        for number in range(start, stop):
            descriptor = os.open(folder / f"{number:07d}.json", flags, 0o600)
            os.write(descriptor, data)
            os.close(descriptor)

    started = time.monotonic()
    children = []
    for part in range(1, processes):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            try:
                create(count * part // processes, count * (part + 1) // processes)
            finally:
                os._exit(0)
        children.append(pid)
    create(0, count // processes)
    for pid in children:
        os.waitpid(pid, 0)
    seconds = time.monotonic() - started
    written = sum(1 for _ in folder.iterdir())
    shutil.rmtree(folder)
    if written != count:
        raise SystemExit(f"file creation floor: {written} files of {count} written")
    return seconds


def print_profile(profiler: cProfile.Profile, top: int = 30) -> None:
    for key in ("tottime", "cumulative"):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats(key).print_stats(top)
        text = out.getvalue()
        print(text[text.index("   ncalls") :] if "   ncalls" in text else text)


def signing_context(count: int, reference_count: int) -> None:
    from signing_bench import measure

    fast = measure("fast", count, 1)
    reference = measure("pyld", reference_count, 1)
    print(
        f"\nsigning one credential (data_integrity.sign, then verify), 1 process, load {load():.1f}: "
        f"fast {fast[0]:.3f} ms ({count:,}), pyld {reference[0]:.3f} ms ({reference_count:,}), "
        f"{reference[0] / fast[0]:.1f}x"
    )


def print_table(results: Sequence[Result]) -> None:
    print(f"\nend to end on anvil (1 s blocks, finality: finalized), {os.cpu_count()} CPUs")
    head = (
        f"{'N':>9} {'mode':<8} {'code':<6} {'intake s':>8} {'(own)':>6} {'batch s':>8} {'build':>6} {'send':>5} "
        f"{'block':>5} "
        f"{'final':>5} {'rcpts':>6} {'exit':>5} {'total s':>8} {'cred/s':>7} {'RSS iss':>7} {'RSS bat':>7}  load"
    )
    print(head)
    for r in results:
        p = r.phases
        print(
            f"{r.count:>9,} {r.mode:<8} {r.code:<6} {r.intake.seconds:>8.1f} {r.intake_reported:>6.1f} "
            f"{r.batch.seconds:>8.1f} "
            f"{p['start+build']:>6.1f} {p['send']:>5.1f} {p['block']:>5.1f} {p['finality']:>5.1f} "
            f"{p['receipts']:>6.1f} {p['exit']:>5.1f} {r.total:>8.1f} {r.count / r.total:>7,.0f} "
            f"{r.intake.peak_mb:>6.0f}M {r.batch.peak_mb:>6.0f}M  {'/'.join(f'{x:.1f}' for x in r.loads)}"
        )
    by_mode = {(r.mode, r.code): r for r in results}
    for code in ("now", "before"):
        if ("signed", code) in by_mode and ("unsigned", code) in by_mode:
            s, u = by_mode["signed", code], by_mode["unsigned", code]
            print(
                f"signed/unsigned ({code}): intake {s.intake.seconds / u.intake.seconds:.2f}x, batch run "
                f"{s.batch.seconds / u.batch.seconds:.2f}x, total {s.total / u.total:.2f}x"
            )
    for mode in ("unsigned", "signed"):
        if (mode, "now") in by_mode and (mode, "before") in by_mode:
            n, b = by_mode[mode, "now"], by_mode[mode, "before"]
            print(
                f"before/now ({mode}): intake {b.intake.seconds / n.intake.seconds:.2f}x, receipts "
                f"{b.phases['receipts'] / max(n.phases['receipts'], 1e-9):.2f}x, total {b.total / n.total:.2f}x"
            )
    for r in results:
        if r.split is not None:
            print(
                f"in-process intake ({r.mode}, default workers): prepare {r.split[0]:.1f} s, "
                f"queue transaction {r.split[1]:.1f} s"
            )
    for r in results:
        print(
            f"batch run ({r.mode}, {r.code}) own peak RSS by each line: {phase_peaks(r.batch)}; "
            f"with its writers {r.batch.peak_mb:.0f}M"
        )
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak RSS of any waited-for child (RUSAGE_CHILDREN): {children:.0f} MB")


def run_peer(name: str, count: int, folder: Path) -> dict[str, object]:
    """Run the named peer on ``count`` items under ``folder``; its figures (``certissuer_peer.run_certissuer``)."""
    from certissuer_peer import run_certissuer  # benchmarks/ is on sys.path

    print(f"  peer {name}: {count:,} certificates on its mockchain, load {load():.1f}", flush=True)
    workdir = folder / f"peer-{name}"
    workdir.mkdir()
    result = run_certissuer(count, workdir)
    shutil.rmtree(workdir, ignore_errors=True)
    return dict(result)


def print_peer(peer: dict[str, object], results: Sequence[Result]) -> None:
    seconds = float(str(peer["seconds"]))
    phases = peer.get("phases") or {}
    split = ", ".join(f"{key} {float(value):.1f}" for key, value in dict(phases).items())  # type: ignore[call-overload]
    print(
        f"peer cert-issuer (mockchain, no chain wait): {peer.get('certificates')} certificates in {seconds:.1f} s "
        f"({split}), peak RSS {float(str(peer.get('peak_rss_mb', 0))):.0f} MB, load {peer.get('load')}"
    )
    for r in results:
        print(
            f"cert-issuer / anchor ({r.mode}, {r.code}): {seconds / r.total:.2f}x the whole path "
            f"(anchor's includes the block and finality waits, {r.phases['block'] + r.phases['finality']:.1f} s)"
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000, help="credentials (10000; 100000; 1000000 allowed)")
    parser.add_argument("--modes", nargs="+", choices=("signed", "unsigned"), default=["signed", "unsigned"])
    parser.add_argument("--in-process", action="store_true", help="also split intake into prepare and queue")
    parser.add_argument("--profile", action="store_true", help="cProfile the in-process signed intake (workers=1)")
    parser.add_argument("--signing-count", type=int, default=1000, help="credentials for the signing context row")
    parser.add_argument("--no-signing", action="store_true", help="skip the per-credential signing row")
    parser.add_argument("--workdir", type=Path, help="where the temporary homes and files go (default: TMPDIR)")
    parser.add_argument("--before", type=Path, help="a source tree (DIR/src) measured in the same run as the peer")
    parser.add_argument("--unsigned-only", action="store_true", help="only the unsigned mode (the 1M run)")
    parser.add_argument("--peer", choices=("certissuer",), help="also run this peer on the same count, same run")
    args = parser.parse_args(argv)
    if args.unsigned_only:
        args.modes = ["unsigned"]
    if not 1 <= args.count <= 1_000_000:
        parser.error(f"--count must be between 1 and 1000000, got {args.count}")
    print(f"e2e_bench: {args.count:,} credentials, {os.cpu_count()} CPUs, load {load():.1f}")
    results = []
    if args.before is not None and not (args.before / "src" / "anchor").is_dir():
        parser.error(f"--before {args.before}: no src/anchor there (git archive HEAD src | tar -x -C DIR)")
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)  # a folder given that does not exist yet is made
    with tempfile.TemporaryDirectory(prefix="anchor-e2e-", dir=args.workdir) as folder:
        for mode in args.modes:
            for source in (None, args.before) if args.before is not None else (None,):
                result = measure_mode(Path(folder), args.count, mode == "signed", args.in_process, args.profile, source)
                results.append(result)
        files = min(args.count, FLOOR_FILES)
        floors = {processes: file_creation_floor(Path(folder), files, processes=processes) for processes in (1, 2)}
        floor_load = load()
        peer = run_peer(args.peer, args.count, Path(folder)) if args.peer else None
        print_table(results)  # before the temporary files go: removing a million receipts takes minutes
        print(f"removing the temporary files, load {load():.1f}", flush=True)
    one, two = floors[1], floors[2]
    print(
        f"file creation floor, same file system, same run: {files:,} files of 4 KB in one folder "
        f"(open, write, close): 1 process {one:.1f} s, {files / one:,.0f} files/s; 2 processes {two:.1f} s, "
        f"{files / two:,.0f} files/s ({one / two:.2f}x); load {floor_load:.1f}"
    )
    for r in results:
        receipts = r.phases["receipts"]
        rate = r.count / max(receipts, 1e-9)
        print(
            f"receipts ({r.mode}, {r.code}): {receipts:.1f} s, {rate:,.0f}/s = {rate * one / files:.2f} of the "
            f"1-process floor's rate, {rate * two / files:.2f} of the 2-process floor's"
        )
    if peer is not None:
        print_peer(peer, results)
    if not args.no_signing:
        signing_context(args.signing_count, max(args.signing_count // 10, 20))


if __name__ == "__main__":
    main()
