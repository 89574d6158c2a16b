"""The peer of the end-to-end benchmark (issue 13): Blockcerts' ``cert-issuer`` issuing N certificates on its mockchain.

    python benchmarks/certissuer_peer.py --setup               # only create .venv-certissuer (pip, once)
    python benchmarks/certissuer_peer.py --count 1000          # issue 1,000 certificates, print per-phase figures
    python benchmarks/certissuer_peer.py --count 100000 --workdir /var/tmp/peer --json
    python benchmarks/certissuer_peer.py --count 1000 --template FILE   # another unsigned certificate to vary

cert-issuer (PyPI, pinned in ``benchmarks/peers/certissuer/requirements.txt``) runs in its own virtualenv,
``.venv-certissuer`` at the top of the checkout: its pins conflict with ours, and it needs Python 3.10 (its
``glob2`` pin fails on 3.11). The interpreter is ``$ANCHOR_PY310``, else ``python3.10`` on PATH, else
``~/.pyenv/versions/3.10*/bin/python``; without one the script stops and says which it tried. The venv is made
with pip from PyPI only; nothing is fetched at run time: the JSON-LD contexts the certificates name are the ones
cert-schema ships and preloads (VC v2, Blockcerts v3.x, Data Integrity v2), and the peer's HTTP goes to a proxy
that refuses (``NO_NETWORK_PROXY``), so a template naming any other context fails with its URL, never fetches.

Untimed: ``count`` unsigned Blockcerts v3 certificates (``peers/certissuer/template.json``: a VC v2
``BlockcertsCredential`` of about 2.8 KB, the size class of ``anchor.credentials.examples``; learner name,
id, student number and grade vary) written into one folder, and a ``conf.ini`` (chain ``mockchain``, no safe
mode, a placeholder key file: nothing is signed on mockchain). Timed: cert-issuer's own command line
(``cert-issuer -c conf.ini``, its file batch path: the whole folder is one batch, one Merkle tree, one mock
transaction), split into phases by the times its log lines arrive:

- ``prepare``: process start, imports, configuration, copying the inputs into its work folder;
- ``validate``: reading and checking each certificate (type, context, dates, metadata against its schema);
- ``sign``: the signer's start and stop (nothing to sign on mockchain);
- ``normalize+tree``: each certificate read again, JSON-LD-normalized (URDNA2015, pyld), hashed into the tree;
- ``proofs+write``: the mock transaction, then per certificate a MerkleProof2019 proof encoded, added and written;
- ``copy out``: the finished certificates copied from the work folder to the output folder;
- ``exit``: the rest, to the process's end.

Then, untimed, ``peers/certissuer/check_output.py`` (in the peer's venv) counts the certificates written and checks
a sample offline: the proof decodes, the certificate hashes to its target hash, the path leads to the one root.

``run_certissuer(count, workdir)`` returns a dict (``seconds``, ``phases``, ``certificates``, ``per_second``,
``peak_rss_mb`` and ``cpu_seconds`` of the cert-issuer process from ``os.wait4``, ``merkle_root``, ``checked``,
``load``, ``input_bytes``); ``benchmarks/e2e_bench.py --peer certissuer`` calls it in the same run as anchor's
own figures.
"""

from __future__ import annotations

import argparse
import collections
import glob
import hashlib
import html
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PEER_DIR = HERE / "peers" / "certissuer"
REQUIREMENTS = PEER_DIR / "requirements.txt"
TEMPLATE = PEER_DIR / "template.json"
CHECKER = PEER_DIR / "check_output.py"
VENV = ROOT / ".venv-certissuer"
INTERPRETER_VARIABLE = "ANCHOR_PY310"
PYTHON_VERSION = (3, 10)

#: cert-issuer 3.13.1's log lines that close each phase, in the order its batch path writes them.
PHASE_LINES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("prepare", re.compile(r"Processing \d+ certificates under work path")),
    ("validate", re.compile(r"Starting finalizable signer")),
    ("sign", re.compile(r"Stopping finalizable signer")),
    ("normalize+tree", re.compile(r"here is the op_return_code data")),
    ("proofs+write", re.compile(r"Broadcast transaction with txid")),
    ("copy out", re.compile(r"Your Blockchain Certificates are in")),
)
PHASES = (*(name for name, _ in PHASE_LINES), "exit")

FIRST_NAMES = (
    "Venla", "Aino", "Eino", "Väinö", "Siiri", "Onni", "Helmi", "Leevi", "Ilona", "Jaakko",
    "Matilda", "Elias", "Aada", "Oliver", "Lilja", "Eetu", "Kerttu", "Niilo", "Sofia", "Veeti",
)  # fmt: skip
LAST_NAMES = (
    "Hämäläinen", "Virtanen", "Korhonen", "Mäkinen", "Nieminen", "Mäkelä", "Järvinen", "Heikkinen",
    "Koskinen", "Lehtonen", "Saarinen", "Salminen", "Heinonen", "Niemi", "Kärkkäinen", "Pöntinen",
)  # fmt: skip


class PeerUnavailableError(RuntimeError):
    """The peer cannot run here: no Python 3.10 interpreter, or its virtualenv could not be made."""


class PeerFailedError(RuntimeError):
    """cert-issuer ran but failed, or what it wrote did not check out."""


def _version_of(python: str) -> tuple[int, int] | None:
    """The (major, minor) of ``python``, or None if it does not run (a pyenv shim without that version, say)."""
    try:
        completed = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.fullmatch(r"(\d+)\.(\d+)\s*", completed.stdout)
    if completed.returncode != 0 or match is None:
        return None
    return int(match.group(1)), int(match.group(2))


def find_python310() -> Path:
    """The Python 3.10 to make the peer's venv with: $ANCHOR_PY310, python3.10 on PATH, then pyenv's 3.10.x."""
    wanted = "{}.{}".format(*PYTHON_VERSION)
    explicit = os.environ.get(INTERPRETER_VARIABLE)
    if explicit:
        version = _version_of(explicit)
        if version != PYTHON_VERSION:
            found = "does not run" if version is None else "is Python {}.{}".format(*version)
            raise PeerUnavailableError(f"{INTERPRETER_VARIABLE}={explicit} {found}; cert-issuer needs Python {wanted}")
        return Path(explicit)
    tried: list[str] = []
    candidates: list[str] = []
    on_path = shutil.which(f"python{wanted}")
    if on_path:
        candidates.append(on_path)
    else:
        tried.append(f"python{wanted} (not on PATH)")
    pyenv = sorted(glob.glob(str(Path.home() / ".pyenv" / "versions" / f"{wanted}*" / "bin" / "python")), reverse=True)
    if not pyenv:
        tried.append(f"{Path.home()}/.pyenv/versions/{wanted}*/bin/python (none)")
    candidates.extend(pyenv)
    for candidate in candidates:
        if _version_of(candidate) == PYTHON_VERSION:
            return Path(candidate)
        tried.append(f"{candidate} (not a working Python {wanted})")
    raise PeerUnavailableError(
        f"no Python {wanted} interpreter for cert-issuer (its glob2 pin fails on 3.11): set {INTERPRETER_VARIABLE} "
        f"to one, or install python{wanted}; tried: {'; '.join(tried)}"
    )


def _requirements_digest() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


def ensure_venv(venv: Path = VENV) -> Path:
    """Make ``venv`` with Python 3.10 and the pinned requirements (once per requirements file); its python."""
    marker = venv / ".installed"
    python = venv / "bin" / "python"
    digest = _requirements_digest()
    if marker.exists() and marker.read_text(encoding="utf-8").strip() == digest and python.exists():
        return python
    interpreter = find_python310()
    print(f"certissuer peer: creating {venv} with {interpreter} (pip install -r {REQUIREMENTS.name})", file=sys.stderr)
    steps = (
        [str(interpreter), "-m", "venv", "--clear", str(venv)],
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(REQUIREMENTS)],
    )
    for step in steps:
        completed = subprocess.run(step, capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            output = completed.stdout[-2000:] + completed.stderr[-4000:]
            raise PeerUnavailableError(f"{' '.join(step)} failed ({completed.returncode}):\n{output}")
    marker.write_text(digest + "\n", encoding="utf-8")
    return python


def learner_name(number: int) -> str:
    rng = random.Random(number)
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def write_certificates(folder: Path, count: int, template: Path = TEMPLATE) -> int:
    """``count`` unsigned certificates from ``template`` into ``folder`` (flat: cert-issuer globs ``*.json``).

    Returns the bytes written. Each has its own id, learner (name, subject id, e-mail, student number) and grade,
    in the plain fields, the ``metadata`` JSON string and the ``display`` HTML alike (those two where the template
    has them: another template, cert-issuer's own example say, varies in id and learner only).
    """
    template_text = template.read_text(encoding="utf-8")
    folder.mkdir(parents=True, exist_ok=True)
    total = 0
    for number in range(count):
        certificate: dict[str, Any] = json.loads(template_text)
        name = learner_name(number)
        grade = str(1 + number % 5)
        student = f"2025-{number:07d}"
        certificate["id"] = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'anchor-certissuer-peer/{number}')}"
        subject = certificate["credentialSubject"]
        subject["id"] = f"did:example:learner-{number:07d}"
        subject["name"] = name
        subject["email"] = f"learner-{number:07d}@opiskelija.keski-suomen-amk.example"
        if "metadata" in certificate:
            metadata = json.loads(certificate["metadata"])
            metadata["course"]["grade"] = grade
            metadata["course"]["studentId"] = student
            certificate["metadata"] = json.dumps(metadata, ensure_ascii=False)
        if "display" in certificate:
            display = certificate["display"]
            display["content"] = display["content"].replace("LEARNER_NAME", html.escape(name)).replace("GRADE", grade)
        data = json.dumps(certificate, ensure_ascii=False).encode("utf-8")
        (folder / f"{number:07d}.json").write_bytes(data)
        total += len(data)
    return total


def write_config(workdir: Path) -> Path:
    """cert-issuer's ``conf.ini`` for its mockchain batch path, every folder inside ``workdir``."""
    key_dir = workdir / "key"
    key_dir.mkdir(exist_ok=True)
    # FileSecretManager reads this file; on mockchain nothing is signed with it.
    (key_dir / "pk_issuer.txt").write_text("mockchain-signs-nothing\n", encoding="utf-8")
    config = workdir / "conf.ini"
    lines = {
        "issuing_address": "mockchain-issuer",
        "verification_method": "https://www.keski-suomen-amk.example/blockcerts/issuer.json#key-1",
        "chain": "mockchain",
        "unsigned_certificates_dir": workdir / "unsigned",
        "signed_certificates_dir": workdir / "signed",
        "blockchain_certificates_dir": workdir / "blockchain_certificates",
        "work_dir": workdir / "work",
        "usb_name": key_dir,
        "key_file": "pk_issuer.txt",
    }
    for key, value in lines.items():
        if "\n" in str(value) or "\r" in str(value):
            raise ValueError(f"{key} for cert-issuer's conf.ini has a line break: {str(value)!r}")
    text = "".join(f"{key} = {value}\n" for key, value in lines.items()) + "no_safe_mode\n"
    config.write_text(text, encoding="utf-8")
    return config


#: Where the peer's HTTP goes: the discard port of this host, so a context or schema that cert-schema does not
#: preload fails at once instead of being fetched (the benchmark measures no network, and nothing downloads).
NO_NETWORK_PROXY = "http://127.0.0.1:9"


def _child_env() -> dict[str, str]:
    """A plain environment: nothing of this venv (PYTHONPATH, VIRTUAL_ENV) leaks into the peer's interpreter,
    and its urllib/requests fetches go nowhere (``NO_NETWORK_PROXY``)."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    env["PYTHONIOENCODING"] = "utf-8"
    for variable in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        env[variable] = NO_NETWORK_PROXY
    return env


def split_phases(marks: dict[str, float], total: float) -> dict[str, float]:
    """Seconds per phase from the arrival times of the phase lines (a missing line: its phase joins the next)."""
    phases: dict[str, float] = {}
    previous = 0.0
    for name in PHASES:
        at = total if name == "exit" else marks.get(name)
        if at is None:
            continue
        phases[name] = at - previous
        previous = at
    return phases


def _issue(python: Path, config: Path, workdir: Path) -> tuple[float, dict[str, float], float, float]:
    """Run cert-issuer to its end; wall seconds, phase line arrival times, its process's peak RSS (MB) and CPU s."""
    script = python.parent / "cert-issuer"
    tail: collections.deque[str] = collections.deque(maxlen=150)
    marks: dict[str, float] = {}
    pending = list(PHASE_LINES)
    with tempfile.TemporaryFile("w+", encoding="utf-8") as stdout:
        started = time.monotonic()
        process = subprocess.Popen(
            [str(script), "-c", str(config)],
            cwd=workdir,
            env=_child_env(),
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        assert process.stderr is not None
        for line in process.stderr:
            # cert-issuer logs every certificate's Merkle JSON: keep only the phase lines' times and a short tail.
            if pending and pending[0][1].search(line):
                marks[pending.pop(0)[0]] = time.monotonic() - started
            tail.append(line.rstrip("\n")[:500])
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        process.stderr.close()
        if process.returncode != 0 or pending:
            stdout.seek(0)
            missing = ", ".join(name for name, _ in pending) or "none"
            hint = ""
            if any("loading remote context failed" in line for line in tail):
                hint = (
                    "the certificates name a JSON-LD context that cert-schema does not preload, and the peer "
                    "fetches nothing (see 'url' below)\n"
                )
            raise PeerFailedError(
                f"cert-issuer exited {process.returncode}; phase lines not seen: {missing}\n{hint}"
                f"{stdout.read()[-2000:]}" + "\n".join(tail)
            )
    return seconds, marks, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def check_output(python: Path, workdir: Path, count: int, sample: int = 5) -> dict[str, Any]:
    """``check_output.py`` in the peer's venv over what cert-issuer wrote; its JSON, or PeerFailedError."""
    completed = subprocess.run(
        [
            str(python),
            str(CHECKER),
            "--unsigned",
            str(workdir / "unsigned"),
            "--signed",
            str(workdir / "blockchain_certificates"),
            "--expected",
            str(count),
            "--sample",
            str(sample),
        ],
        cwd=workdir,
        env=_child_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise PeerFailedError(completed.stderr.strip()[-4000:] or f"check_output.py exited {completed.returncode}")
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


def run_certissuer(count: int, workdir: Path, *, template: Path = TEMPLATE) -> dict[str, Any]:
    """Issue ``count`` certificates with cert-issuer on its mockchain in ``workdir`` (made if missing) and check them.

    Raises PeerUnavailableError when there is no Python 3.10 for its venv, PeerFailedError when it fails or its output
    does not check out. ``workdir`` keeps the inputs and outputs; its previous run's folders are replaced.
    """
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    python = ensure_venv()
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    for name in ("unsigned", "signed", "blockchain_certificates", "work"):
        shutil.rmtree(workdir / name, ignore_errors=True)
    input_bytes = write_certificates(workdir / "unsigned", count, template)
    config = write_config(workdir)
    load_before = os.getloadavg()[0]
    seconds, marks, peak_mb, cpu = _issue(python, config, workdir)
    load_after = os.getloadavg()[0]
    checked = check_output(python, workdir, count)
    return {
        "peer": "cert-issuer (mockchain)",
        "template": template.name,
        "count": count,
        "seconds": seconds,
        "phases": split_phases(marks, seconds),
        "certificates": checked["signed"],
        "per_second": count / seconds,
        "peak_rss_mb": peak_mb,
        "cpu_seconds": cpu,
        "merkle_root": checked["merkle_root"],
        "checked": checked["checked"],
        "load": (load_before, load_after),
        "input_bytes": input_bytes / count,
    }


def format_result(result: dict[str, Any]) -> str:
    lines = [
        f"cert-issuer, mockchain, {result['count']:,} certificates ({result['template']}, "
        f"{result['input_bytes']:,.0f} B each): "
        f"{result['seconds']:.1f} s, {result['per_second']:,.0f}/s (CPU {result['cpu_seconds']:.1f} s), "
        f"peak RSS {result['peak_rss_mb']:.0f} MB, "
        f"load {result['load'][0]:.1f} -> {result['load'][1]:.1f}",
    ]
    for name, seconds in result["phases"].items():
        share = 100 * seconds / result["seconds"]
        per = 1e6 * seconds / result["count"]
        lines.append(f"  {name:<15} {seconds:8.2f} s  {share:5.1f} %  {per:8.0f} µs/certificate")
    lines.append(
        f"  checked: {result['certificates']:,} certificates written, {result['checked']} proofs verified offline "
        f"against root {result['merkle_root'][:16]}..."
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="certificates to issue (default 1,000)")
    parser.add_argument("--workdir", type=Path, help="keep inputs and outputs here (default: a temporary folder)")
    parser.add_argument("--template", type=Path, default=TEMPLATE, help="unsigned certificate to vary (default: ours)")
    parser.add_argument("--setup", action="store_true", help="only make .venv-certissuer, then exit")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error(f"--count must be at least 1, got {args.count}")
    try:
        if args.setup:
            print(ensure_venv())
            return 0
        if args.workdir is not None:
            result = run_certissuer(args.count, args.workdir, template=args.template)
        else:
            with tempfile.TemporaryDirectory(prefix="certissuer-peer-") as temporary:
                result = run_certissuer(args.count, Path(temporary), template=args.template)
    except PeerUnavailableError as error:
        print(f"certissuer peer unavailable: {error}", file=sys.stderr)
        return 2
    except PeerFailedError as error:
        print(f"certissuer peer failed: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result) if args.json else format_result(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
