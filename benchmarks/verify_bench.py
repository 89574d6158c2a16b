"""Verifier speed against a local anvil chain: receipts per second for a directory, one receipt end to end.

    .venv/bin/python benchmarks/verify_bench.py [--count 5000] [--single-runs 7] [--kind v1|v3]
    git worktree add /tmp/before HEAD    # then, the code before as a peer in the same run:
    .venv/bin/python benchmarks/verify_bench.py --count 5000 --rounds 3 --single-runs 21 --peer-src /tmp/before/src

Starts anvil in a temporary ANCHOR_HOME, deploys the registry, registers an issuer, anchors COUNT generated
credentials as one batch and writes their receipts to a directory: unsigned ``anchor-credential-v1`` receipts by
default (``--kind v1``, the kind the issue's target was measured on), or with ``--kind v3`` signed
``anchor-credential-v3`` ones as intake issues them today (a did:key issuer: the signature is checked offline,
RDF canonicalization and Ed25519 included). Then, in the same run:

- status calls per second, one thread: web3.py's contract ``.call()`` (the baseline; it sends ``eth_chainId``
  before each call) against anchor's plain JSON-RPC ``eth_call`` on a kept-alive connection;
- whole verifications per second, one thread: every check, with the status read by web3's ``.call()``
  (``anchor.chain.registry``) against :class:`anchor.verifier.Verifier`;
- a directory, in rounds that alternate (so that both see the same machine): the peer, the path before JSON-RPC
  batching (worker processes with 4 threads each, every receipt verified alone: one status request per receipt
  and endpoint), then :func:`anchor.verifier.bulk.verify_paths` (chunks whose chain questions go in JSON-RPC
  batch requests, in worker processes), then the ``anchor verify DIR`` command, process start included; the
  median of the rounds;
- one receipt: ``anchor verify FILE`` as a new process, start included (median of several runs), next to
  ``python -c pass`` (the interpreter's own start, the floor), and the same receipt verified in-process by a
  fresh :class:`~anchor.verifier.Verifier` (first call, cold caches);
  anchor's sources are byte-compiled first, as an installed package is (an editable install under
  ``PYTHONDONTWRITEBYTECODE=1`` would recompile them at every start);
- with ``--peer-src DIR`` (the ``src`` of another checkout, e.g. ``git worktree add /tmp/before HEAD``): that
  code as a second peer on the same chain and receipts, rounds alternating with this code: receipts/s of
  ``verify_paths`` (each in its own process) and of ``anchor verify DIR``, CPU µs per receipt split into the
  anvil node and the verifier's processes, and one receipt (``anchor verify FILE``, median and min of
  ``--single-runs``, wall and CPU), with the ratios;
- the credential's JSON Schema check per credential: jsonschema-rs (what decides) against Python jsonschema
  (which only explains the problems of an invalid credential).

With ``--archive``, only this instead: the same receipts as a tar archive (Python's tarfile, PAX, as ``anchor
batch run`` writes a very large batch's), verified by ``verify_paths`` of
:func:`~anchor.verifier.archive.archive_members` (its header scan included) and by ``anchor verify ARCHIVE.tar``,
in rounds alternating with the folder (``verify_paths`` of the files, ``anchor verify DIR``); both rates and
their ratio, the scan against the folder's listing, and what the parent process would pay to read each member
and send its bytes to the workers instead of the member's offset (the design not taken).

    .venv/bin/python benchmarks/verify_bench.py --archive --count 5000 --rounds 3

Targets (issue 13): at least 2,000 receipts/s for a directory; one receipt in under 0.2 s including start.
The machine's load is printed too: figures on a shared 2-core machine move with it.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from anchored_batch import anchored_receipts, free_port
from eth_account.signers.local import LocalAccount

from anchor.chain import node
from anchor.chain.connection import Chain, connect
from anchor.chain.keys import development_accounts
from anchor.chain.registry import Registry
from anchor.chain.registry_abi import CredentialStatus, registry_abi
from anchor.config import Settings
from anchor.credentials import credential_digest, validate_credential
from anchor.credentials.receipt import LEAF_ENCODING, split_receipt
from anchor.merkle import StandardMerkleTree
from anchor.processes import usable_cpus
from anchor.verifier import TrustedRegistry, Verdict, Verification, Verifier, trusted_from_deployments
from anchor.verifier.bulk import CHUNK, receipt_files, verify_paths

ROOT = Path(__file__).resolve().parents[1]
ANCHOR = str(Path(sys.executable).with_name("anchor"))


def setup(home: Path, count: int, kind: str = "v1") -> tuple[Settings, Registry, list[dict[str, Any]]]:
    """A chain with one anchored, final batch of ``count`` receipts of ``kind`` (``v1``: unsigned
    ``anchor-credential-v1``; ``v3``: ``anchor-credential-v3`` signed by a did:key issuer, as intake makes them)."""
    settings = Settings(home=home, node_port=free_port(), node_block_time=0.5)
    node.start(settings)
    chain = connect(settings)
    operator, signer = development_accounts()[0], development_accounts()[1]
    registry, _, _ = Registry.deploy_and_record(chain, operator, operator.address, 0, settings.deployments_dir)
    if kind == "v3":
        receipts = signed_receipts(chain, registry, operator, signer, "DE", count, seed=7)
    else:
        receipts = anchored_receipts(chain, registry, operator, signer, "DE", count, seed=7)
    return settings, registry, receipts


def signed_receipts(
    chain: Chain, registry: Registry, operator: LocalAccount, signer: LocalAccount, country: str, count: int, seed: int
) -> list[dict[str, Any]]:
    """:func:`anchored_receipts` of signed ``anchor-credential-v3`` credentials: each prepared by intake with a
    did:key signer (validated, salted, signed ``eddsa-rdfc-2022``, per-claim digest), the issuer registered with
    that DID, one batch anchored, final."""
    from datetime import UTC, datetime

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from anchor.chain.connection import wait_for_block
    from anchor.credentials.examples import generate_credentials, issuer_for_country
    from anchor.credentials.multikey import did_key, did_key_verification_method
    from anchor.credentials.receipt import AnchorProof, make_receipt
    from anchor.issuing.intake import prepare_credential
    from anchor.issuing.signing import IntakeSigner

    seed_bytes = bytes(range(32))
    public = (
        Ed25519PrivateKey.from_private_bytes(seed_bytes)
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    did = did_key(public)
    intake = IntakeSigner(did, did_key_verification_method(public), seed_bytes, datetime.now(UTC))
    issuer = issuer_for_country(country)
    issuer_id, _ = registry.register_issuer(operator, issuer.name, issuer.country_code, did, [signer.address])
    prepared = [
        prepare_credential(item, signer=intake)
        for item in generate_credentials(count, seed=seed, salted=False, issuer=issuer, issuer_did=did)
    ]
    tree = StandardMerkleTree.of([(item.digest, index) for index, item in enumerate(prepared)], list(LEAF_ENCODING))
    batch_id, receipt = registry.anchor(signer, tree.root, count)
    block = chain.w3.eth.get_block(receipt["blockNumber"])
    wait_for_block(chain, int(receipt["blockNumber"]), "finalized")
    proofs = tree.get_all_proofs()
    return [
        make_receipt(
            json.loads(item.document),
            AnchorProof(
                chain_id=chain.chain_id,
                registry=registry.address,
                batch_id=batch_id,
                issuer_id=issuer_id,
                index=index,
                digest="0x" + item.digest.hex(),
                merkle_proof=tuple(proofs[index]),
                root=tree.root,
                transaction_hash=receipt["transactionHash"].to_0x_hex(),
                block_number=int(receipt["blockNumber"]),
                anchored_at=datetime.fromtimestamp(int(block["timestamp"]), UTC),
            ),
        )
        for index, item in enumerate(prepared)
    ]


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def status_calls(registry: Registry, verifier: Verifier, receipts: list[dict[str, Any]]) -> tuple[float, float]:
    """Status calls per second, one thread: web3 ``.call()`` and plain JSON-RPC, on the same receipts."""
    proofs = [split_receipt(receipt)[1] for receipt in receipts]
    started = time.perf_counter()
    for proof in proofs:
        check = registry.credential_status(
            proof.batch_id, proof.index, proof.digest, list(proof.merkle_proof), block="finalized"
        )
        assert check.status is CredentialStatus.VALID
    web3_rate = rate(len(proofs), time.perf_counter() - started)
    endpoint = verifier.endpoints[0]
    abi = registry_abi()
    endpoint.chain_id()
    started = time.perf_counter()
    for proof in proofs:
        data = abi.status_call(proof.batch_id, proof.index, proof.digest, proof.merkle_proof)
        answer = abi.decode_status(endpoint.eth_call(proof.registry, data, "finalized"))
        assert answer.status.name == "VALID"
    return web3_rate, rate(len(proofs), time.perf_counter() - started)


def whole_verifications(registry: Registry, verifier: Verifier, texts: list[bytes]) -> tuple[float, float]:
    """Whole verifications per second, one thread: web3 ``.call()`` for the status, and anchor's Verifier."""
    from anchor.credentials import parse_credential

    started = time.perf_counter()
    for text in texts:  # the same offline work as the Verifier, then web3's contract call
        credential, proof = split_receipt(parse_credential(text))
        validate_credential(credential)
        digest = credential_digest(credential)
        leaf = (digest, proof.index)
        assert StandardMerkleTree.verify(proof.root, LEAF_ENCODING, leaf, proof.merkle_proof)
        check = registry.credential_status(
            proof.batch_id, proof.index, digest, list(proof.merkle_proof), block="finalized"
        )
        assert check.status is CredentialStatus.VALID
        assert registry.issuer(check.issuer_id).uri == credential["issuer"]["id"]
    baseline = rate(len(texts), time.perf_counter() - started)
    started = time.perf_counter()
    for text in texts:
        assert verifier.verify(text).verdict is Verdict.VALID
    return baseline, rate(len(texts), time.perf_counter() - started)


_peer: Verifier | None = None


def _start_peer(urls: list[str], trusted: list[TrustedRegistry]) -> None:
    global _peer
    _peer = Verifier(urls, trusted)


def _peer_chunk(paths: list[str]) -> list[Verification]:
    assert _peer is not None
    return list(_peer.verify_many(paths, _peer.verify_file, workers=4))


def one_request_per_receipt(verifier: Verifier, paths: list[str]) -> list[Verification]:
    """The peer: the directory path before JSON-RPC batching, in as many worker processes as verify_paths uses.

    Each process verifies chunks of :data:`~anchor.verifier.bulk.CHUNK` with 4 threads, each receipt alone
    (:meth:`~anchor.verifier.Verifier.verify_file`: one ``credentialStatus`` request per receipt and endpoint).
    """
    import multiprocessing

    urls = [endpoint.url for endpoint in verifier.endpoints]
    chunks = [paths[start : start + CHUNK] for start in range(0, len(paths), CHUNK)]
    context = multiprocessing.get_context("fork")
    with context.Pool(usable_cpus(), initializer=_start_peer, initargs=(urls, verifier.trusted)) as pool:
        return [result for results in pool.imap(_peer_chunk, chunks) for result in results]


class CpuClock:
    """CPU seconds used so far by this process, its waited-for descendants (worker processes, commands) and the
    anvil node: the machine's work per receipt, which moves less with other load than the wall time does."""

    def __init__(self, settings: Settings) -> None:
        self.anvil_stat = Path(f"/proc/{int((settings.home / 'node' / 'anvil.pid').read_text())}/stat")

    def anvil(self) -> float:
        """CPU seconds used so far by the anvil node (utime + stime of /proc/<pid>/stat)."""
        fields = self.anvil_stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def __call__(self) -> float:
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime + self.anvil()


def directory_rounds(
    settings: Settings, verifier: Verifier, receipt_dir: Path, rounds: int
) -> tuple[dict[str, list[float]], dict[str, list[float]], float]:
    """Receipts/s and CPU µs per receipt of the peer, ``verify_paths`` and ``anchor verify DIR``, round after
    round; the last CLI time."""
    paths = [str(path) for path in sorted(receipt_dir.iterdir())]
    rates: dict[str, list[float]] = {"peer": [], "library": [], "cli": []}
    cpu: dict[str, list[float]] = {"peer": [], "library": [], "cli": []}
    clock = CpuClock(settings)
    cli_seconds = 0.0

    def timed(name: str, run: Callable[[], int]) -> None:
        started, used = time.perf_counter(), clock()
        count = run()
        rates[name].append(rate(count, time.perf_counter() - started))
        cpu[name].append((clock() - used) / count * 1e6)

    def cli_run() -> int:
        nonlocal cli_seconds
        cli_seconds, done = run_cli(settings, str(receipt_dir))
        assert done.returncode == 0, done.stdout + done.stderr
        return len(paths)

    for _ in range(rounds):
        timed("peer", lambda: _all_valid(one_request_per_receipt(verifier, paths)))
        timed("library", lambda: _all_valid(list(verify_paths(verifier, paths))))
        timed("cli", cli_run)
    return rates, cpu, cli_seconds


def archive_rounds(settings: Settings, verifier: Verifier, receipt_dir: Path, rounds: int) -> None:
    """The receipts of ``receipt_dir`` as a tar archive against the folder itself, rounds alternating: receipts/s
    of ``verify_paths`` and of ``anchor verify``, and the parent's costs (see the module doc); printed."""
    import pickle
    import tarfile

    # here, not at the top: --library-run imports this file with a peer's code (before archives) on the path
    from anchor.verifier.archive import archive_members, read_members

    archive = receipt_dir.with_suffix(".tar")
    with tarfile.open(archive, "w", format=tarfile.PAX_FORMAT) as made:
        for path in sorted(receipt_dir.iterdir()):
            info = made.gettarinfo(path, arcname=f"{receipt_dir.name}/{path.name}")
            info.mtime = int(info.mtime)  # whole seconds, as anchor writes: no PAX header for a fraction
            with path.open("rb") as stream:
                made.addfile(info, stream)
    count = len(list(receipt_dir.iterdir()))
    rates: dict[str, list[float]] = {"folder": [], "archive": [], "folder cli": [], "archive cli": []}
    cpu: dict[str, list[float]] = {name: [] for name in rates}
    listing: dict[str, list[float]] = {"folder": [], "archive": []}
    clock = CpuClock(settings)

    def library(name: str) -> None:
        started, used = time.perf_counter(), clock()
        sources: list[Any] = receipt_files(receipt_dir) if name == "folder" else archive_members(str(archive))
        listed = time.perf_counter()
        assert _all_valid(list(verify_paths(verifier, sources))) == count
        rates[name].append(rate(count, time.perf_counter() - started))
        cpu[name].append((clock() - used) / count * 1e6)
        listing[name].append((listed - started) / count * 1e6)

    def cli(name: str, target: Path) -> None:
        used = clock()
        seconds, done = run_cli(settings, str(target))
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        assert f"{count} receipts: {count} valid" in done.stdout, done.stdout[-2000:]
        rates[name].append(rate(count, seconds))
        cpu[name].append((clock() - used) / count * 1e6)

    load_before = os.getloadavg()[0]
    for _ in range(rounds):
        library("folder")
        library("archive")
        cli("folder cli", receipt_dir)
        cli("archive cli", archive)
    # the parent's cost per receipt of what it sends to the workers: the members' offsets (what verify_paths
    # sends), or the members' bytes read here (the design not taken)
    members = archive_members(str(archive))
    chunks = [members[start : start + CHUNK] for start in range(0, len(members), CHUNK)]
    started = time.perf_counter()
    for chunk in chunks:
        pickle.dumps(chunk)
    offsets = (time.perf_counter() - started) / count * 1e6
    started = time.perf_counter()
    for chunk in chunks:
        pickle.dumps(read_members(chunk))
    data = (time.perf_counter() - started) / count * 1e6
    median = statistics.median
    print(
        f"archive ({archive.stat().st_size >> 20} MiB, tarfile PAX) against the folder of the same {count} receipts, "
        f"median of {rounds} alternating rounds (load average {load_before:.2f} before, "
        f"{os.getloadavg()[0]:.2f} after)"
    )
    for folder_name, archive_name, label in (
        ("folder", "archive", "verify_paths (listing included)"),
        ("folder cli", "archive cli", "anchor verify (process)"),
    ):
        ours, theirs = median(rates[archive_name]), median(rates[folder_name])
        print(
            f"  {label:32s} folder {theirs:6.0f}/s  archive {ours:6.0f}/s  ratio x{ours / theirs:.2f}   rounds "
            f"folder {_rounded(rates[folder_name])}, archive {_rounded(rates[archive_name])}"
        )
        ours, theirs = median(cpu[archive_name]), median(cpu[folder_name])
        print(
            f"  {'':32s} CPU per receipt (every process, anvil included): folder {theirs:5.0f} µs, archive "
            f"{ours:5.0f} µs, ratio x{ours / theirs:.2f}"
        )
    print(
        f"  listing per receipt: folder (receipt_files) {median(listing['folder']):5.1f} µs, archive "
        f"(archive_members, headers scanned) {median(listing['archive']):5.1f} µs"
    )
    print(
        f"  parent per receipt to hand out work: offsets {offsets:5.1f} µs (pickled), bytes {data:5.1f} µs (read "
        "and pickled)"
    )


def _all_valid(results: list[Verification]) -> int:
    assert all(result.verdict is Verdict.VALID for result in results)
    return len(results)


def schema_check_times(credentials: list[dict[str, Any]]) -> tuple[float, float]:
    """Microseconds per credential of the schema check alone: jsonschema-rs, then Python jsonschema."""
    from anchor.credentials import schema

    fast, explaining = schema._fast_validator(), schema._explaining_validator()
    started = time.perf_counter()
    assert all(fast.is_valid(item) for item in credentials)
    rust = (time.perf_counter() - started) / len(credentials) * 1e6
    started = time.perf_counter()
    assert not any(True for item in credentials for _ in explaining.iter_errors(item))
    python = (time.perf_counter() - started) / len(credentials) * 1e6
    return rust, python


def run_cli(settings: Settings, *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    env = {**os.environ, "ANCHOR_HOME": str(settings.home), "ANCHOR_NODE_PORT": str(settings.node_port)}
    started = time.perf_counter()
    done = subprocess.run([ANCHOR, "verify", *args], env=env, capture_output=True, text=True, check=False)
    return time.perf_counter() - started, done


def library_run(home: Path, port: int, receipt_dir: Path) -> None:
    """Verify ``receipt_dir`` with :func:`verify_paths` in this process (the code on ``sys.path``): print JSON."""
    settings = Settings(home=home, node_port=port)
    paths = [str(path) for path in sorted(receipt_dir.iterdir())]
    with Verifier([settings.effective_rpc_url], trusted_from_deployments(settings.deployments_dir)) as verifier:
        started, own, used = time.perf_counter(), _own_cpu(), _own_cpu() + _children_cpu()
        count = _all_valid(list(verify_paths(verifier, paths)))  # its worker processes end (are waited for) here
        seconds, cpu = time.perf_counter() - started, _own_cpu() + _children_cpu() - used
        parent = _own_cpu() - own
    print(json.dumps({"count": count, "seconds": seconds, "cpu": cpu, "parent": parent}))


class Side:
    """One code base measured: this checkout's, or the peer's (``src`` put first on ``PYTHONPATH``)."""

    def __init__(self, name: str, src: Path | None) -> None:
        self.name = name
        self.env = {**os.environ}
        if src is not None:
            self.env["PYTHONPATH"] = str(src)
        self.rates: dict[str, list[float]] = {"library": [], "cli": []}
        self.anvil: dict[str, list[float]] = {"library": [], "cli": []}
        self.verifier: dict[str, list[float]] = {"library": [], "cli": []}
        self.parent: list[float] = []
        """CPU µs per receipt of verify_paths' own process (the workers' parent), in the library runs."""
        self.one_wall: list[float] = []
        self.one_cpu: list[float] = []


def _own_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def peer_rounds(settings: Settings, receipt_dir: Path, sides: list[Side], rounds: int, single_runs: int) -> None:
    """Alternating rounds of each side: the directory by verify_paths and by ``anchor verify DIR`` (each a new
    process: its CPU with its workers' from RUSAGE_CHILDREN, anvil's from /proc), then one receipt."""
    clock = CpuClock(settings)
    count = len(list(receipt_dir.iterdir()))
    base = {"ANCHOR_HOME": str(settings.home), "ANCHOR_NODE_PORT": str(settings.node_port)}
    library = [
        sys.executable,
        __file__,
        "--library-run",
        str(settings.home),
        str(settings.node_port),
        str(receipt_dir),
    ]

    def measured(side: Side, what: str, command: list[str]) -> None:
        anvil, own = clock.anvil(), _children_cpu()
        started = time.perf_counter()
        done = subprocess.run(command, env={**side.env, **base}, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        cpu = _children_cpu() - own  # the command's process and its workers, start and imports included
        if what == "library":  # verify_paths alone: without the start and imports of the measuring process
            report = json.loads(done.stdout.strip().splitlines()[-1])
            seconds, cpu = report["seconds"], report["cpu"]
            side.parent.append(report["parent"] / count * 1e6)
        side.rates[what].append(rate(count, seconds))
        side.anvil[what].append((clock.anvil() - anvil) / count * 1e6)
        side.verifier[what].append(cpu / count * 1e6)

    for _ in range(rounds):
        for side in sides:
            measured(side, "library", library)
            measured(side, "cli", [ANCHOR, "verify", str(receipt_dir)])
    single = str(next(iter(sorted(receipt_dir.iterdir()))))
    for _ in range(single_runs):
        for side in sides:
            own = _children_cpu()
            started = time.perf_counter()
            done = subprocess.run(
                [ANCHOR, "verify", single], env={**side.env, **base}, capture_output=True, text=True, check=False
            )
            side.one_wall.append(time.perf_counter() - started)
            side.one_cpu.append(_children_cpu() - own)
            assert done.returncode == 0, done.stdout + done.stderr


def print_peer_rounds(sides: list[Side], count: int, rounds: int, kind: str) -> None:
    ours, peer = sides
    median = statistics.median
    print(
        f"this code against the peer code ({peer.name}), {count} {kind} receipts, median of {rounds} alternating "
        f"rounds (load average {os.getloadavg()[0]:.2f} now)"
    )
    for what, label in (("library", "verify_paths"), ("cli", "anchor verify DIR")):
        for side in sides:
            total = median(side.anvil[what]) + median(side.verifier[what])
            parent = f" (parent {median(side.parent):4.0f} µs)" if what == "library" else ""
            print(
                f"  {label:18s} {side.name:6s} {median(side.rates[what]):7.0f} receipts/s   CPU per receipt: anvil "
                f"{median(side.anvil[what]):5.0f} µs + verifier {median(side.verifier[what]):5.0f} µs{parent} = "
                f"{total:5.0f} µs ({2e6 / total:5.0f}/s on 2 cores); rounds {_rounded(side.rates[what])}"
            )
        ratio = median(ours.rates[what]) / median(peer.rates[what])
        cpu = (median(ours.anvil[what]) + median(ours.verifier[what])) / (
            median(peer.anvil[what]) + median(peer.verifier[what])
        )
        print(f"  {'':18s} ratio  x{ratio:.2f} receipts/s, x{cpu:.2f} CPU per receipt")
    runs = len(ours.one_wall)
    for side in sides:
        print(
            f"  anchor verify FILE {side.name:6s} {median(side.one_wall):7.3f} s median of {runs} (min "
            f"{min(side.one_wall):.3f} s); CPU {median(side.one_cpu):.3f} s (min {min(side.one_cpu):.3f} s)"
        )
    print(
        f"  {'':18s} ratio  x{median(ours.one_wall) / median(peer.one_wall):.2f} wall (median), "
        f"x{median(ours.one_cpu) / median(peer.one_cpu):.2f} CPU (median)"
    )


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--library-run":
        library_run(Path(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--count", type=int, default=5000, help="receipts in the directory (default 5000)")
    parser.add_argument("--sample", type=int, default=500, help="receipts for the one-thread comparisons")
    parser.add_argument("--single-runs", type=int, default=21, help="runs of `anchor verify FILE` (median)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the directory comparison (median)")
    parser.add_argument(
        "--kind",
        choices=("v1", "v3"),
        default="v1",
        help="receipts of unsigned anchor-credential-v1 credentials (default: the issue's target is stated on them) "
        "or of signed anchor-credential-v3 ones (what intake issues today: Data Integrity signature, did:key issuer, "
        "per-claim digest)",
    )
    parser.add_argument(
        "--archive",
        action="store_true",
        help="only compare the receipts as a tar archive with the same receipts as a folder (see the module doc)",
    )
    parser.add_argument(
        "--peer-src",
        type=Path,
        help="the src folder of another checkout (e.g. a worktree of git HEAD) to measure beside this code",
    )
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="anchor-verify-bench-") as folder:
        home = Path(folder) / "home"
        print(f"setting up: anvil, registry, one batch of {options.count} {options.kind} receipts ...", flush=True)
        started = time.perf_counter()
        settings, registry, receipts = setup(home, options.count, options.kind)
        receipt_dir = Path(folder) / "receipts"
        receipt_dir.mkdir()
        texts = []
        for index, receipt in enumerate(receipts):
            text = json.dumps(receipt, ensure_ascii=False)
            (receipt_dir / f"{index:06d}.json").write_text(text, encoding="utf-8")
            texts.append(text.encode())
        print(f"  ready in {time.perf_counter() - started:.1f} s; load average {os.getloadavg()[0]:.2f}\n")
        if options.archive:
            try:
                with Verifier([settings.effective_rpc_url], trusted_from_deployments(settings.deployments_dir)) as one:
                    archive_rounds(settings, one, receipt_dir, options.rounds)
            finally:
                node.stop(settings)
            return
        try:
            trusted = trusted_from_deployments(settings.deployments_dir)
            rpc = settings.effective_rpc_url
            sample = receipts[: options.sample]
            with Verifier([rpc], trusted) as verifier:
                web3_calls, plain_calls = status_calls(registry, verifier, sample)
                web3_whole, ours_whole = whole_verifications(registry, verifier, texts[: options.sample])
                load_before = os.getloadavg()[0]
                rates, cpus, cli_seconds = directory_rounds(settings, verifier, receipt_dir, options.rounds)
            peer_dir, library_dir, cli_dir = (statistics.median(rates[name]) for name in ("peer", "library", "cli"))
            peer_cpu, library_cpu, cli_cpu = (statistics.median(cpus[name]) for name in ("peer", "library", "cli"))

            compileall.compile_dir(str(ROOT / "src" / "anchor"), quiet=1)
            single = receipt_dir / "000000.json"
            times = []
            for _ in range(options.single_runs):
                seconds, done = run_cli(settings, str(single))
                assert done.returncode == 0, done.stdout + done.stderr
                times.append(seconds)
            single_cli = statistics.median(times)
            floor = []
            for _ in range(options.single_runs):
                started = time.perf_counter()
                subprocess.run([sys.executable, "-c", "pass"], check=True)
                floor.append(time.perf_counter() - started)
            python_floor = statistics.median(floor)
            started = time.perf_counter()
            with Verifier([rpc], trusted) as cold:
                assert cold.verify(texts[0]).verdict is Verdict.VALID
            single_lib = time.perf_counter() - started
            credentials = [split_receipt(receipt)[0] for receipt in receipts[: options.sample]]
            schema_rust, schema_python = schema_check_times(credentials)
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", "import anchor.cli"], check=True)
            import_cli = time.perf_counter() - started
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", "import anchor.verifier"], check=True)
            import_verifier = time.perf_counter() - started
            sides: list[Side] = []
            if options.peer_src is not None:
                compileall.compile_dir(str(options.peer_src / "anchor"), quiet=1)
                sides = [Side("this", ROOT / "src"), Side("peer", options.peer_src.resolve())]
                peer_rounds(settings, receipt_dir, sides, options.rounds, options.single_runs)
        finally:
            node.stop(settings)

    print(f"load average now {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs, {usable_cpus()} worker processes")
    print()
    print("status call, one thread (same receipts)")
    print(f"  web3 contract .call()          {web3_calls:8.0f} calls/s")
    print(f"  plain JSON-RPC eth_call        {plain_calls:8.0f} calls/s   x{plain_calls / web3_calls:.1f}")
    print("whole verification, one thread (every check)")
    print(f"  with web3 .call() status       {web3_whole:8.0f} receipts/s")
    print(f"  anchor Verifier                {ours_whole:8.0f} receipts/s   x{ours_whole / web3_whole:.1f}")
    print(
        f"directory of {options.count} {options.kind} receipts (target >= 2000/s), median of {options.rounds} "
        "alternating rounds "
        f"(load average {load_before:.2f} before)"
    )
    print(f"  peer: one request per receipt  {peer_dir:8.0f} receipts/s   rounds {_rounded(rates['peer'])}")
    print(
        f"  verify_paths (JSON-RPC batches){library_dir:8.0f} receipts/s   x{library_dir / peer_dir:.1f} peer, "
        f"x{library_dir / web3_whole:.0f} web3 baseline; rounds {_rounded(rates['library'])}"
    )
    print(
        f"  anchor verify DIR (process)    {cli_dir:8.0f} receipts/s   x{cli_dir / peer_dir:.1f} peer; rounds "
        f"{_rounded(rates['cli'])} (last {cli_seconds:.2f} s incl. start)"
    )
    print("  CPU per receipt, every process (workers, parent, anvil); what 2 idle cores would allow")
    for name, used in (("peer", peer_cpu), ("verify_paths", library_cpu), ("anchor verify DIR", cli_cpu)):
        print(f"    {name:28s} {used:6.0f} µs   {2e6 / used:6.0f} receipts/s on 2 cores")
    print("one receipt (target < 0.2 s incl. process start)")
    print(f"  anchor verify FILE             {single_cli:8.3f} s (median of {len(times)}, min {min(times):.3f} s)")
    print(f"  python -c pass (the floor)     {python_floor:8.3f} s (median of {len(floor)})")
    print(f"  Verifier, cold, in-process     {single_lib:8.3f} s")
    print(f"  python -c 'import anchor.cli'  {import_cli:8.3f} s")
    print(f"  python -c 'import anchor.verifier' {import_verifier:4.3f} s")
    if sides:
        print_peer_rounds(sides, options.count, options.rounds, options.kind)
    print("credential schema check, per credential")
    print(f"  Python jsonschema (explains)   {schema_python:8.0f} µs")
    print(f"  jsonschema-rs (decides)        {schema_rust:8.0f} µs   x{schema_python / schema_rust:.0f} faster")


def _rounded(rates: list[float]) -> str:
    return "/".join(f"{value:.0f}" for value in rates)


if __name__ == "__main__":
    main()
