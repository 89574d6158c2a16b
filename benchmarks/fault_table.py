"""The fault table: the issuer's nightly batch under faults, each run audited for lost and twice-anchored credentials.

    .venv/bin/python benchmarks/fault_table.py [--seeds 5] [--only kill,reorg] [--markdown FILE] [--verbose]

Starts a local anvil node (blocks mined by this script every 50 ms, so that finality comes quickly), deploys
the registry, then runs every row of :data:`ROWS` once per seed. A run registers a new issuer with new keys,
queues generated credentials in a new issuer database (a SQLite file, or a schema of its own on the
PostgreSQL server named by ``ANCHOR_TEST_DATABASE_URL``), runs ``anchor batch run``'s code under the row's
fault, then runs it again without the fault until it finishes (a restart after a crash, as an operator or a
timer would), and audits the result against the chain:

- **lost**: a queued credential without a receipt that the verifier (:class:`anchor.verifier.Verifier`, every
  check, at the finalized block) finds VALID, or that the database does not hold as anchored in the
  on-chain batch its receipt names;
- **anchored twice**: the credentials of an on-chain batch of the run's issuer whose root is in no batch of
  the database (sent by a run that then lost track of it), or of a root anchored under two batch ids, and
  every credential with receipts in two batches.

Both must be 0 in every row. The columns ``injected`` (runs in which the fault actually happened: the process
was killed, the transaction dropped...) and ``restarts`` (runs of the batch that failed and were started
again) show that the faults bit. Seeds vary the number of credentials, the batch size, which batch and
which moment the fault hits, and the fault's variant; run ``N`` of a row always uses seed ``N``.

Kill -9, two-worker and clock-skew rows run the worker as a separate process (``fault_table.py worker FILE``,
its configuration in a 0600 file); the others run it in this process with the fault injected by a hook, a
JSON-RPC proxy, a database event or a filesystem. Reorg rows each get a node of their own (see
:attr:`Row.own_chain`). The injected faults are named in the table's second column: real
(the node drops a transaction, the server terminates the connection, the disk is full) or injected where
no real one can be made here (SQLite raising an I/O error).

``tests/test_fault_table.py`` runs every row with one seed in ``make test``; ``make fault-table`` runs the full
table and prints it in Markdown (the README shows the last run's).
"""

from __future__ import annotations

import argparse
import errno
import itertools
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from web3 import Web3

from anchor.chain import node
from anchor.chain.connection import Chain, connect
from anchor.chain.keys import development_accounts
from anchor.chain.registry import Registry
from anchor.chain.transactions import TxPolicy
from anchor.config import Settings
from anchor.credentials.examples import generate_credentials, issuer_for_country
from anchor.issuing.intake import prepare_credential
from anchor.issuing.sending import LEASE_SECONDS, IssuerBusyError
from anchor.issuing.service import IssuerService
from anchor.issuing.store import BatchRecord, Store
from anchor.verifier import TrustedRegistry, Verdict, Verifier

DEV = development_accounts()
PG_URL_VARIABLE = "ANCHOR_TEST_DATABASE_URL"
#: Seconds between the blocks this script mines.
BLOCK_INTERVAL = 0.05
#: The moment receipts are verified at: after every generated validFrom, before every generated validUntil.
VERIFY_AT = datetime(2026, 3, 1, tzinfo=UTC)
#: Clean runs after the faulty phase before a run counts as unfinished (its credentials then count as lost).
RECOVERY_ATTEMPTS = 40
#: Seconds a worker waits for an answer from the RPC endpoint (the faulty proxy delays some beyond it).
CLIENT_TIMEOUT = 1.0
WORKER_BUSY_EXIT = 3


def policy(**overrides: Any) -> TxPolicy:
    """The transaction policy of the runs: short waits, so that stuck and dropped transactions resolve fast."""
    values: dict[str, Any] = {
        "finality": "finalized",
        "stuck_after": 1.5,
        "poll": 0.05,
        "retries": 4,
        "backoff": 0.1,
        "finality_timeout": 120.0,
    }
    return TxPolicy(**(values | overrides))


# ---------------------------------------------------------------------------------------------- the chain


class Miner:
    """Mines a block every ``interval`` seconds (anvil's own interval mining is switched off); holding
    ``lock`` pauses it (:class:`Hold`)."""

    def __init__(self, chain: Chain, interval: float = BLOCK_INTERVAL) -> None:
        self.chain, self.interval = chain, interval
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        rpc(chain, "evm_setIntervalMining", 0)
        self.thread = threading.Thread(target=self._run, name="miner", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopped.wait(self.interval):
            with self.lock, suppress(requests.RequestException, RuntimeError):
                rpc(self.chain, "evm_mine")

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(5)


class Hold:
    """Keeps the miner paused from :meth:`take` to :meth:`give` (both idempotent), across hook calls."""

    def __init__(self, miner: Miner) -> None:
        self.miner, self.held = miner, False
        self.guard = threading.Lock()

    def take(self) -> None:
        if not self.held:
            self.miner.lock.acquire()
            self.held = True

    def give(self) -> None:
        with self.guard:
            if self.held:
                self.held = False
                self.miner.lock.release()


def rpc(chain: Chain, method: str, *params: Any) -> Any:
    """One JSON-RPC call (anvil's own methods included); its result."""
    answer = chain.w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
    if "error" in answer:
        raise RuntimeError(f"{method} failed: {answer['error']}")
    return answer.get("result")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ---------------------------------------------------------------------------------------------- a faulty RPC


@dataclass
class Fault:
    """What the proxy does with one JSON-RPC request instead of answering it honestly."""

    #: ``delay`` (answer after ``seconds``), ``reset`` (close the connection, no answer), ``http`` (status
    #: ``status``), ``lie`` (``change(request, response)`` is the answer), ``answer`` (``result`` without
    #: forwarding), ``error`` (a JSON-RPC error ``message`` without forwarding)
    kind: str
    forward: bool = True
    seconds: float = 0.0
    status: int = 503
    change: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None
    result: Any = None
    message: str = ""


class FaultyRpc:
    """A JSON-RPC proxy on 127.0.0.1 in front of the node; ``rule(request)`` may return a :class:`Fault`."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.rule: Callable[[dict[str, Any]], Fault | None] = lambda request: None
        self.injected = 0
        sessions = threading.local()  # a kept-alive connection to the node per handler thread
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = json.loads(body)
                fault = proxy.rule(request) if isinstance(request, dict) else None
                if fault is not None:
                    proxy.injected += 1
                answer: Any = None
                if fault is None or fault.forward:
                    if not hasattr(sessions, "session"):
                        sessions.session = requests.Session()
                    headers = {"Content-Type": "application/json"}
                    answer = sessions.session.post(proxy.upstream, data=body, headers=headers).json()
                if fault is not None:
                    if fault.kind == "delay":
                        time.sleep(fault.seconds)
                    elif fault.kind == "reset":
                        self.close_connection = True
                        with suppress(OSError):
                            self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    elif fault.kind == "http":
                        self._send(fault.status, b"upstream unavailable")
                        return
                    elif fault.kind == "lie" and fault.change is not None:
                        answer = fault.change(request, answer)
                    elif fault.kind == "answer":
                        answer = {"jsonrpc": "2.0", "id": request.get("id"), "result": fault.result}
                    elif fault.kind == "error":
                        error = {"code": -32000, "message": fault.message}
                        answer = {"jsonrpc": "2.0", "id": request.get("id"), "error": error}
                with suppress(OSError):
                    self._send(200, json.dumps(answer).encode())

            def _send(self, status: int, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def is_call_to(request: dict[str, Any], method: str) -> bool:
    return request.get("method") == method


# ---------------------------------------------------------------------------------------------- databases


def postgres_url() -> str | None:
    return os.environ.get(PG_URL_VARIABLE) or None


@contextmanager
def fresh_database(backend: str, folder: Path) -> Iterator[str]:
    """An empty issuer database: a SQLite file in ``folder`` or a PostgreSQL schema of its own (dropped after)."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'issuer.db'}"
        return
    base = postgres_url()
    if base is None:
        raise RuntimeError(f"PostgreSQL rows need {PG_URL_VARIABLE} (`.ci/run --postgres-only` starts a server)")
    schema = f"fault_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with suppress(Exception), admin.begin() as connection:
            connection.execute(text("SET LOCAL lock_timeout = '10s'"))
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


# ---------------------------------------------------------------------------------------------- the lab


@dataclass
class Lab:
    """The node, the registry and the miner that every run of the table shares."""

    settings: Settings
    chain: Chain
    registry: Registry
    miner: Miner
    workdir: Path
    can_mount: bool
    runs: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @classmethod
    @contextmanager
    def started(cls, workdir: Path) -> Iterator[Lab]:
        settings = Settings(home=workdir / "node-home", node_port=free_port(), node_block_time=1.0)
        node.start(settings)
        miner: Miner | None = None
        try:
            chain = connect(settings)
            miner = Miner(chain)
            registry, _ = Registry.deploy(chain, DEV[0], DEV[0].address, 0)
            # batch 1: another issuer's, so that a lie naming batch 1 names a real batch (``lying("adopted")``)
            decoy = issuer_for_country("GR")
            registry.register_issuer(DEV[0], decoy.name, decoy.country_code, decoy.id, [DEV[9].address])
            registry.anchor(DEV[9], "0x" + "5a" * 32, 1)
            yield cls(settings, chain, registry, miner, workdir, can_mount=_can_mount(workdir))
        finally:
            if miner is not None:
                miner.stop()
            node.stop(settings)

    def finalized_block(self) -> int:
        return int(self.chain.w3.eth.get_block("finalized")["number"])


def _can_mount(workdir: Path) -> bool:
    """Whether this process may mount a tmpfs (root, and the system allows it): disk-full rows are then real."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    probe = workdir / "mount-probe"
    probe.mkdir(exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)], capture_output=True)
    if mounted.returncode != 0:
        return False
    subprocess.run(["umount", str(probe)], check=True)
    return True


@dataclass
class Outcome:
    """The audit of one run."""

    credentials: int
    lost: int
    twice: int
    restarts: int
    injected: bool
    problems: list[str]
    errors: list[str] = field(default_factory=list)
    """Why the restarted runs failed (the faults as the worker saw them)."""


class Run:
    """One run of a row: a new issuer with new keys, a new database, queued credentials; then the audit."""

    def __init__(self, lab: Lab, seed: int, backend: str, database_url: str, *, keys: int = 1, label: str = "") -> None:
        self.lab, self.seed, self.backend, self.database_url = lab, seed, backend, database_url
        self.number = next(lab.runs)
        self.rng = random.Random(f"{label}/{seed}")  # the same draws for run ``seed`` of a row, whatever ran before
        self.folder = lab.workdir / f"run-{self.number}"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.receipts = self.folder / "receipts"
        self.store = Store(database_url)
        self.keys: list[LocalAccount] = [Account.create() for _ in range(keys)]
        for key in self.keys:
            rpc(lab.chain, "anvil_setBalance", key.address, hex(10**21))
        base = issuer_for_country(self.rng.choice(["DE", "FR", "PL", "FI", "ES", "PT"]))
        self.issuer = replace(base, id=f"did:web:fault-{self.number}-{uuid.uuid4().hex[:8]}.example")
        self.first_batch = lab.registry.batch_count() + 1
        self.issuer_id, _ = lab.registry.register_issuer(
            DEV[0], self.issuer.name, self.issuer.country_code, self.issuer.id, [k.address for k in self.keys]
        )
        self.owner = f"fault-run-{self.number}"
        self.restarts = 0
        self.injected = False
        self.errors: list[str] = []
        self.credential_ids: list[str] = []

    def queue(self, count: int) -> None:
        credentials = generate_credentials(count, seed=self.rng.randrange(2**32), issuer=self.issuer, salted=False)
        outcomes = self.store.queue([prepare_credential(credential) for credential in credentials])
        assert all(outcome.status == "queued" for outcome in outcomes), outcomes
        self.credential_ids += [outcome.credential_id for outcome in outcomes]

    def service(
        self,
        *,
        key: int = 0,
        hook: Callable[[str, BatchRecord], None] | None = None,
        chain: Chain | None = None,
        store: Store | None = None,
        tx_policy: TxPolicy | None = None,
    ) -> IssuerService:
        registry = Registry(chain, self.lab.registry.address) if chain is not None else self.lab.registry
        made = IssuerService(
            store or self.store, registry, self.keys[key], tx_policy or policy(), self.receipts, hook=hook
        )
        made.key.owner = self.owner  # a restarted worker takes its own lease back (see the README's notes)
        return made

    def attempt(self, service: IssuerService, max_size: int) -> bool:
        """One run of the batch; False (and a restart counted) if it failed."""
        try:
            service.run(max_size)
            return True
        except Exception as error:
            self.restarts += 1
            self.errors.append(f"{type(error).__name__}: {error}"[:300])
            return False

    def recover(self, max_size: int) -> bool:
        """Run the batch without faults until a run succeeds; False if none of the attempts did."""
        for _ in range(RECOVERY_ATTEMPTS):
            if self.attempt(self.service(), max_size):
                return True
            time.sleep(0.3)
        return False

    def spec(self, max_size: int, *, key: int = 0, **extra: Any) -> dict[str, Any]:
        """The configuration of a worker process for this run."""
        return {
            "database_url": self.database_url,
            "rpc_url": self.lab.chain.rpc_url,
            "registry": self.lab.registry.address,
            "key": self.keys[key].key.hex(),
            "receipts": str(self.receipts),
            "max_size": max_size,
            "owner": self.owner,
            **extra,
        }

    def audit(self) -> Outcome:
        """Compare the database, the receipts and the chain (see the module docstring)."""
        registry, problems = self.lab.registry, []
        twice = 0
        onchain = {}
        for batch_id in range(self.first_batch, registry.batch_count() + 1):
            info = registry.batch(batch_id)
            if info.issuer_id == self.issuer_id:
                onchain[batch_id] = info
        database = {held.root.lower(): held for held in self.store.list_batches(limit=1_000_000)}
        for batch_id, info in onchain.items():
            held = database.get(info.root.lower())
            if held is None:
                twice += info.size
                problems.append(f"on-chain batch {batch_id} (root {info.root}) is in no batch of the database")
            elif held.onchain_batch_id != batch_id:
                twice += info.size
                problems.append(f"root {info.root} anchored as {batch_id}; the database says {held.onchain_batch_id}")
        receipts: dict[str, list[dict[str, Any]]] = {}
        for path in sorted(self.receipts.rglob("*.json")) if self.receipts.exists() else []:
            document = json.loads(path.read_text(encoding="utf-8"))
            receipts.setdefault(document["id"], []).append(document)
        lost = 0
        trusted = [TrustedRegistry(registry.address, self.lab.chain.chain_id, "fault table")]
        with Verifier([self.lab.chain.rpc_url], trusted) as verifier:
            for credential_id in self.credential_ids:
                found = receipts.get(credential_id, [])
                if len({document["proof"]["batchId"] for document in found}) > 1:
                    twice += 1
                    problems.append(f"{credential_id} has receipts in batches {[d['proof']['batchId'] for d in found]}")
                record = self.store.find_credential(credential_id)
                batch = self.store.get_batch(record.batch_id) if record and record.batch_id else None
                valid = [
                    document
                    for document in found
                    if verifier.verify(json.dumps(document), now=VERIFY_AT).verdict is Verdict.VALID
                ]
                anchored = (
                    batch is not None
                    and batch.state == "anchored"
                    and batch.onchain_batch_id in onchain
                    and any(document["proof"]["batchId"] == batch.onchain_batch_id for document in valid)
                )
                if not anchored:
                    lost += 1
                    state = "no record" if record is None else f"{record.state}, batch {record.batch_id}"
                    problems.append(f"{credential_id}: {len(found)} receipt(s), {len(valid)} VALID; database: {state}")
        return Outcome(len(self.credential_ids), lost, twice, self.restarts, self.injected, problems, self.errors)

    def close(self) -> None:
        self.store.close()


def wait_final(lab: Lab, timeout: float = 30.0) -> None:
    """Wait until every block mined so far is final (the audit verifies at the finalized block)."""
    target = int(lab.chain.w3.eth.block_number)
    deadline = time.monotonic() + timeout
    while lab.finalized_block() < target and time.monotonic() < deadline:
        time.sleep(0.05)


# ---------------------------------------------------------------------------------------------- worker processes


def start_worker(run: Run, spec: dict[str, Any]) -> subprocess.Popen[str]:
    """Start ``fault_table.py worker SPEC_FILE``; the spec (a throwaway key included) goes in a 0600 file."""
    path = run.folder / f"worker-{uuid.uuid4().hex[:8]}.json"
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as handle:
        json.dump(spec, handle)
    command = [sys.executable, str(Path(__file__).resolve()), "worker", str(path)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_worker(run: Run, spec: dict[str, Any]) -> int:
    """Run a worker process to its end; its exit status (-9 when it was killed)."""
    return finish(run, start_worker(run, spec))[0].status


@dataclass(frozen=True)
class Finished:
    """A worker process's end: its exit status, and when it first and last moved a batch (monotonic clock)."""

    status: int
    first: float | None = None
    last: float | None = None

    def overlaps(self, other: Finished) -> bool:
        """Whether both moved batches at the same time."""
        if None in (self.first, self.last, other.first, other.last):
            return False
        return bool(self.first <= other.last and other.first <= self.last)  # type: ignore[operator]


def finish(run: Run, *processes: subprocess.Popen[str]) -> list[Finished]:
    """Wait for worker processes; how each ended (their error output goes to the run's errors)."""
    finished = []
    for process in processes:
        output, errors = process.communicate(timeout=180)
        if errors.strip():
            run.errors.append(errors.strip()[-300:])
        report = json.loads(output.strip().splitlines()[-1]) if output.strip() else {}
        finished.append(Finished(process.returncode, report.get("first"), report.get("last")))
    return finished


def ready(run: Run, max_size: int, **workers: dict[str, Any]) -> dict[str, tuple[subprocess.Popen[str], Path]]:
    """Start worker processes (name -> ``key`` index and spec entries), each waiting at a gate of its own
    until it is opened; return name -> (process, gate) once every one of them is ready (imports done).

    Their batches wait for 10 confirmations (about half a second each), so that the workers overlap."""
    started = {}
    for name, changes in workers.items():
        gate = run.folder / f"gate-{name}-{uuid.uuid4().hex[:6]}"
        extra = {key: value for key, value in changes.items() if key != "key"}
        spec = run.spec(max_size, key=changes.get("key", 0), policy={"finality": 10}, **extra)
        started[name] = (start_worker(run, spec | {"owner": f"{run.owner}-{name}", "gate": str(gate)}), gate)
    deadline = time.monotonic() + 120
    for process, gate in started.values():
        while not gate.with_name(f"{gate.name}.ready").exists() and process.poll() is None:
            if time.monotonic() > deadline:
                raise RuntimeError("a worker process did not get ready in 120 s")
            time.sleep(0.01)
    return started


def wait_for_lease(run: Run, process: subprocess.Popen[str], key: int = 0) -> None:
    """Wait until the worker ``process`` holds the lease of key ``key`` (or has ended)."""
    lease = f"signer:{run.lab.chain.chain_id}:{run.keys[key].address}"
    deadline = time.monotonic() + 30
    while run.store.lease_owner(lease) is None and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)


class _SkewedClock:
    """The ``time`` module with ``time()`` moved by ``offset`` seconds: a worker whose wall clock is wrong."""

    def __init__(self, offset: float) -> None:
        self.offset = offset

    def time(self) -> float:
        return time.time() + self.offset

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def worker(spec: dict[str, Any]) -> int:
    """A worker process: ``anchor batch run``'s code with the spec's key and database, maybe killed or skewed."""
    if spec.get("clock_offset"):
        from anchor.issuing.store import attempts, batches, leases, queue

        for module in (attempts, batches, leases, queue):
            module.time = _SkewedClock(float(spec["clock_offset"]))  # type: ignore[attr-defined]
    kill = spec.get("kill")
    seen: dict[str, int] = {}
    moments: list[float] = []

    def hook(transition: str, batch: BatchRecord) -> None:
        moments.append(time.monotonic())
        seen[transition] = seen.get(transition, 0) + 1
        if kill and transition == kill["transition"] and seen[transition] == kill["occurrence"]:
            if kill["delay"] <= 0:
                os.kill(os.getpid(), signal.SIGKILL)
            threading.Timer(kill["delay"], os.kill, (os.getpid(), signal.SIGKILL)).start()

    chain = connect(Settings(home=Path(spec["receipts"]).parent, rpc_url=spec["rpc_url"]), timeout=CLIENT_TIMEOUT)
    store = Store(spec["database_url"])
    account = Account.from_key(bytes.fromhex(spec["key"].removeprefix("0x")))
    tx_policy = policy(**spec.get("policy", {}))
    service = IssuerService(store, Registry(chain, spec["registry"]), account, tx_policy, Path(spec["receipts"]), hook)
    service.key.owner = spec["owner"]
    if spec.get("gate"):  # started with another worker: both wait, ready, until the runner opens the gate
        gate = Path(spec["gate"])
        gate.with_name(f"{gate.name}.ready").touch()
        deadline = time.monotonic() + 120
        while not gate.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
    try:
        service.run(int(spec["max_size"]))
    except IssuerBusyError:
        return WORKER_BUSY_EXIT
    except Exception:
        traceback.print_exc()
        return 1
    finally:
        store.close()
        if moments:
            print(json.dumps({"first": moments[0], "last": moments[-1]}), flush=True)
    return 0


# ---------------------------------------------------------------------------------------------- the rows

TRANSITIONS = ("built", "signed", "sent", "mined", "confirmed", "anchored")
REORG_DEPTHS = (1, 2, 4, 8, 16, 32, 64)


def sizes(run: Run, low: int = 4, high: int = 24) -> tuple[int, int]:
    """(credentials, batch size) for a run: one to three batches."""
    count = run.rng.randint(low, high)
    return count, max(1, -(-count // run.rng.randint(1, 3)))


def kill_at(transition: str) -> Callable[[Run], None]:
    def scenario(run: Run) -> None:
        count, max_size = sizes(run)
        run.queue(count)
        batches = -(-count // max_size)
        delay = 0.0 if run.seed % 2 == 0 else run.rng.uniform(0.0, 0.3)  # odd seeds: up to 0.3 s later
        kill = {"transition": transition, "occurrence": run.rng.randint(1, batches), "delay": delay}
        status = run_worker(run, run.spec(max_size, kill=kill))
        run.injected = status == -signal.SIGKILL
        if status != 0:
            run.restarts += 1
        run.recover(max_size)

    return scenario


def reorg(depth: int) -> Callable[[Run], None]:
    """One batch's transaction is mined in a block of its own (the miner held), then blocks are mined on top
    until it is ``depth`` blocks deep, and exactly those ``depth`` blocks are reorganised away (anvil_reorg):
    the transaction is dropped, or included again in another block. The finality policy waits for
    ``depth + 2`` confirmations: a reorg deeper than the policy is not a fault the issuer can see (it must
    choose a policy deeper than the chain's reorgs)."""

    def scenario(run: Run) -> None:
        count, max_size = sizes(run)
        run.queue(count)
        lab, w3 = run.lab, run.lab.chain.w3
        target = run.rng.randint(1, -(-count // max_size))
        again = run.rng.random() < 0.5
        signed: list[int] = []  # batch ids, in the order of their first signature
        hold = Hold(lab.miner)
        state = {"armed": False, "included": False, "done": False}

        def hook(transition: str, batch: BatchRecord) -> None:
            if state["done"]:
                return
            if transition == "signed" and batch.id not in signed:
                signed.append(batch.id)
                if len(signed) == target:
                    hold.take()  # before the broadcast: no block may take the transaction but ours
                    state["armed"] = True
                    threading.Timer(10.0, hold.give).start()  # never keep the miner held if no receipt comes
            elif transition == "sent" and state["armed"] and not state["included"]:
                rpc(lab.chain, "evm_mine")  # the transaction's block: the head when its receipt is seen
                state["included"] = True
            elif transition == "mined" and state["armed"]:
                try:
                    reorganise(batch)
                finally:
                    state["done"] = True
                    hold.give()

        def reorganise(batch: BatchRecord) -> None:
            attempts = run.store.attempts_for_batch(batch.id)
            receipt = next(r for r in (_receipt(w3, a.tx_hash) for a in attempts) if r is not None)
            block = int(receipt["blockNumber"])
            deep = int(w3.eth.block_number) - block + 1
            if deep < depth:
                rpc(lab.chain, "anvil_mine", hex(depth - deep))
            deep = int(w3.eth.block_number) - block + 1
            if deep != depth:
                raise RuntimeError(f"the transaction is {deep} blocks deep, not {depth}")
            replacement = []
            if again:
                tx_hash = receipt["transactionHash"].to_0x_hex()
                raw = next(a.raw_tx for a in attempts if a.tx_hash == tx_hash)
                replacement = [[raw, run.rng.randint(0, depth - 1)]]
            rpc(lab.chain, "anvil_reorg", depth, replacement)
            run.injected = True

        try:
            run.attempt(run.service(hook=hook, tx_policy=policy(finality=depth + 2)), max_size)
        finally:
            hold.give()
        run.recover(max_size)

    return scenario


def _receipt(w3: Any, tx_hash: str) -> Any:
    try:
        return w3.eth.get_transaction_receipt(tx_hash)
    except Exception:
        return None


def dropped(run: Run) -> None:
    """The node forgets the broadcast transaction (anvil_dropTransaction), once to three times in a row."""
    count, max_size = sizes(run)
    run.queue(count)
    lab = run.lab
    drops = run.rng.randint(1, 3)
    done: list[str] = []
    hold = Hold(lab.miner)

    def hook(transition: str, batch: BatchRecord) -> None:
        if len(done) >= drops:
            return
        hold.take()  # no block from here until the transaction is broadcast and dropped
        if transition == "sent":
            tx_hash = run.store.attempts_for_batch(batch.id)[-1].tx_hash
            try:
                if rpc(lab.chain, "anvil_dropTransaction", tx_hash) is not None:
                    done.append(tx_hash)
                    run.injected = True
            finally:
                hold.give()

    try:
        run.attempt(run.service(hook=hook), max_size)
    finally:
        hold.give()
    run.recover(max_size)


UNDERPRICED_MESSAGES = (
    "transaction underpriced",
    "replacement transaction underpriced",
    "max fee per gas less than block base fee",
)


def underpriced_refused(run: Run) -> None:
    """The node refuses the first one to three broadcasts as underpriced (injected JSON-RPC errors)."""
    count, max_size = sizes(run)
    run.queue(count)
    proxy = FaultyRpc(run.lab.chain.rpc_url)
    refusals = [run.rng.choice(UNDERPRICED_MESSAGES) for _ in range(run.rng.randint(1, 3))]

    def rule(request: dict[str, Any]) -> Fault | None:
        if is_call_to(request, "eth_sendRawTransaction") and refusals:
            return Fault("error", forward=False, message=refusals.pop(0))
        return None

    chain = connect(Settings(home=run.folder, rpc_url=proxy.url), timeout=CLIENT_TIMEOUT)
    proxy.rule = rule
    try:
        run.attempt(run.service(chain=chain), max_size)
    finally:
        proxy.close()
    run.injected = proxy.injected > 0
    run.recover(max_size)


def underpriced_spike(run: Run) -> None:
    """The base fee jumps to three times the transaction's max fee (anvil_setNextBlockBaseFeePerGas): after
    the broadcast, the node evicts the pending transaction, which the worker must replace with higher fees;
    before it, the node refuses it and the run stops until the base fee has come down."""
    count, max_size = sizes(run)
    run.queue(count)
    lab, w3 = run.lab, run.lab.chain.w3
    before_broadcast = run.rng.random() < 0.5
    spiked: list[bool] = []
    hold = Hold(lab.miner)

    def spike(batch: BatchRecord) -> None:
        max_fee = run.store.attempts_for_batch(batch.id)[-1].max_fee_per_gas
        base = int(w3.eth.get_block("latest")["baseFeePerGas"])
        rpc(lab.chain, "anvil_setNextBlockBaseFeePerGas", hex(max(base * 50, max_fee * 3)))
        rpc(lab.chain, "evm_mine")
        spiked.append(True)
        run.injected = True

    def hook(transition: str, batch: BatchRecord) -> None:
        if spiked or transition not in ("signed", "sent"):
            return
        hold.take()
        if transition == "sent" or before_broadcast:
            try:
                spike(batch)
            finally:
                hold.give()

    try:
        run.attempt(run.service(hook=hook), max_size)
    finally:
        hold.give()
    run.recover(max_size)


def rpc_timeouts(run: Run) -> None:
    """The endpoint fails one request in five for its first 30 faults: no answer within the client's timeout
    (the request still reaches the node), a reset connection (reached the node or not), or HTTP 502/503."""
    count, max_size = sizes(run)
    run.queue(count)
    proxy = FaultyRpc(run.lab.chain.rpc_url)
    rng = random.Random(run.rng.randrange(2**32))
    budget = [30]

    def rule(request: dict[str, Any]) -> Fault | None:
        if budget[0] <= 0 or rng.random() > 0.2:
            return None
        budget[0] -= 1
        kind = rng.choice(["delay", "reset", "reset", "http"])
        if kind == "delay":
            return Fault("delay", seconds=CLIENT_TIMEOUT + 0.5)
        if kind == "reset":
            return Fault("reset", forward=rng.random() < 0.5)
        return Fault("http", forward=False, status=rng.choice([502, 503]))

    chain = connect(Settings(home=run.folder, rpc_url=proxy.url), timeout=CLIENT_TIMEOUT)
    proxy.rule = rule
    try:
        for _ in range(RECOVERY_ATTEMPTS):
            if budget[0] <= 0 or run.attempt(run.service(chain=chain), max_size):
                break
    finally:
        proxy.close()
    run.injected = proxy.injected > 0
    run.recover(max_size)


def lying(kind: str) -> Callable[[Run], None]:
    """An endpoint that lies for a while, then tells the truth. ``kind``:

    - ``stale``: a node behind the others: head and ``finalized`` 3 blocks back, receipts not found yet;
    - ``black-hole``: answers the broadcast with the transaction's hash but never forwards it;
    - ``nonce``: the key's pending transaction count one too low (a nonce already used);
    - ``adopted``: says the batch's root is anchored already (``batchIdOf`` answers a batch id).
    """

    def scenario(run: Run) -> None:
        count, max_size = sizes(run)
        run.queue(count)
        proxy = FaultyRpc(run.lab.chain.rpc_url)
        # each broadcast lost or nonce mistaken costs a wait for ``stuck_after``: fewer of those
        lies = [run.rng.randint(1, 3) if kind in ("black-hole", "nonce") else run.rng.randint(3, 12)]
        selector = run.lab.registry.contract.functions.batchIdOf(0, b"\0" * 32)._encode_transaction_data()[:10]

        def rule(request: dict[str, Any]) -> Fault | None:
            if lies[0] <= 0:
                return None
            method, params = request.get("method"), request.get("params") or []
            fault = None
            if kind == "stale":
                if method == "eth_blockNumber":
                    fault = Fault("lie", change=lambda q, a: a | {"result": hex(max(0, int(a["result"], 16) - 3))})
                elif method == "eth_getBlockByNumber" and params and params[0] in ("latest", "finalized", "safe"):
                    fault = Fault("lie", change=_older_block(run.lab.chain, 3))
                elif method == "eth_getTransactionReceipt":
                    fault = Fault("answer", forward=False, result=None)
            elif kind == "black-hole" and method == "eth_sendRawTransaction":
                fault = Fault("answer", forward=False, result=_tx_hash(params[0]))
            elif kind == "nonce" and method == "eth_getTransactionCount":
                fault = Fault("lie", change=lambda q, a: a | {"result": hex(max(0, int(a["result"], 16) - 1))})
            elif kind == "adopted" and method == "eth_call" and str(params[0].get("data", "")).startswith(selector):
                fault = Fault("answer", forward=False, result="0x" + f"{1:064x}")
            if fault is not None:
                lies[0] -= 1
            return fault

        chain = connect(Settings(home=run.folder, rpc_url=proxy.url), timeout=CLIENT_TIMEOUT)
        proxy.rule = rule
        try:
            for _ in range(RECOVERY_ATTEMPTS):
                if lies[0] <= 0 or run.attempt(run.service(chain=chain), max_size):
                    break
        finally:
            proxy.close()
        run.injected = proxy.injected > 0
        run.recover(max_size)

    return scenario


def _older_block(chain: Chain, behind: int) -> Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]:
    def change(request: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
        block = answer.get("result")
        if not block:
            return answer
        older = max(0, int(block["number"], 16) - behind)
        params = [hex(older), *request["params"][1:]]
        return dict(rpc_raw(chain, "eth_getBlockByNumber", params))

    return change


def rpc_raw(chain: Chain, method: str, params: list[Any]) -> dict[str, Any]:
    answer = requests.post(chain.rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
    return dict(answer.json())


def _tx_hash(raw: str) -> str:
    return Web3.keccak(hexstr=raw).to_0x_hex()


def database_lost(run: Run) -> None:
    """The database fails at its N-th statement of the batch: on PostgreSQL the server terminates the
    connection (pg_terminate_backend, real); on SQLite the statement raises ``disk I/O error`` (injected).
    Twice: N is drawn again for the first restart."""
    count, max_size = sizes(run)
    run.queue(count)
    store = Store(run.database_url)
    statements = [0]
    first = run.rng.randint(1, 30)  # a batch takes about 33 statements on PostgreSQL, 53 on SQLite
    targets = [first, first + run.rng.randint(5, 40)]
    server = postgres_url()
    admin = create_engine(server) if run.backend == "postgresql" and server else None

    @event.listens_for(store.engine, "before_cursor_execute")
    def fail(connection: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements[0] += 1
        if statements[0] not in targets:
            return
        run.injected = True
        if admin is None:
            raise sqlite3.OperationalError("disk I/O error")
        pid = connection.connection.driver_connection.info.backend_pid
        with admin.begin() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        time.sleep(0.05)

    try:
        for _ in range(3):
            if run.attempt(run.service(store=store), max_size):
                break
    finally:
        store.close()
        if admin is not None:
            admin.dispose()
    run.recover(max_size)


def disk_full(run: Run) -> None:
    """The receipts' disk fills up after k receipts: a tmpfs of its own, filled by a file (ENOSPC, real), or,
    where mounting is not allowed, the receipt writer raising OSError(ENOSPC) (injected)."""
    count, max_size = sizes(run)
    run.queue(count)
    room = run.rng.randint(0, count // 2)
    if run.lab.can_mount:
        run.receipts.mkdir(parents=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(run.receipts)], check=True)
        kept = run.folder / "receipts-kept"
        try:
            filler = run.receipts / "filler"
            _fill(run.receipts, filler, room)
            run.attempt(run.service(), max_size)
            run.injected = any("No space left" in error for error in run.errors)
            filler.unlink()
            run.recover(max_size)
            shutil.copytree(run.receipts, kept)  # the audit reads them after the tmpfs is gone
        finally:
            subprocess.run(["umount", str(run.receipts)], check=True)
        run.receipts.rmdir()
        kept.rename(run.receipts)
        return
    from anchor.issuing import receipts as receipts_module

    original = getattr(receipts_module, "write_receipt_file")  # noqa: B009
    written = [0]

    def write(directory: int, name: str, data: bytes, instead: str | None = None) -> None:
        written[0] += 1
        if written[0] > room:
            run.injected = True
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), name)
        original(directory, name, data, instead)

    setattr(receipts_module, "write_receipt_file", write)  # noqa: B010 - the writer receipts.py calls
    try:
        run.attempt(run.service(), max_size)
    finally:
        setattr(receipts_module, "write_receipt_file", original)  # noqa: B010
    run.recover(max_size)


#: Bytes one receipt takes on the tmpfs (whole 4 KiB pages).
_RECEIPT_ROOM = 8192


def _fill(folder: Path, filler: Path, receipts: int) -> None:
    """Fill the tmpfs at ``folder`` so that about ``receipts`` receipt files still fit."""
    free = shutil.disk_usage(folder).free
    keep = 3 * 4096 + receipts * _RECEIPT_ROOM  # the chain's and the batch's folders, the receipts
    with filler.open("wb") as handle, suppress(OSError):
        handle.write(b"\0" * max(0, free - keep))


def two_workers(same_key: bool) -> Callable[[Run], None]:
    """Two worker processes on one database at once: with the same key (one must step back) or two keys of
    the same issuer (they claim different credentials)."""

    def scenario(run: Run) -> None:
        count = run.rng.randint(12, 30)
        max_size = run.rng.randint(2, 5)
        run.queue(count)
        workers = ready(run, max_size, a={"key": 0}, b={"key": 0 if same_key else 1})
        for _, gate in workers.values():
            gate.touch()  # both at once
        ended = finish(run, workers["a"][0], workers["b"][0])
        # they met: one was refused (busy) or failed on the other's work, or both moved batches at once
        run.injected = any(end.status != 0 for end in ended) or ended[0].overlaps(ended[1])
        run.restarts += sum(1 for end in ended if end.status != 0)
        run.owner += "-a"
        run.recover(max_size)

    return scenario


def clock_skew(run: Run) -> None:
    """Two workers with the same key, the second's clock ahead by twice the lease (it sees the first's
    lease as expired and takes it over while the first is still sending)."""
    count = run.rng.randint(12, 30)
    max_size = run.rng.randint(2, 5)
    run.queue(count)
    workers = ready(run, max_size, a={}, b={"clock_offset": 2 * LEASE_SECONDS})
    workers["a"][1].touch()
    wait_for_lease(run, workers["a"][0])
    workers["b"][1].touch()  # the skewed worker starts while the first holds the lease
    ended = finish(run, workers["a"][0], workers["b"][0])
    # the skewed worker took the live lease: both moved batches at once (or one failed on the other's work)
    run.injected = ended[1].status != WORKER_BUSY_EXIT and (
        ended[0].overlaps(ended[1]) or 1 in (ended[0].status, ended[1].status)
    )
    run.restarts += sum(1 for end in ended if end.status != 0)
    run.owner += "-a"
    run.recover(max_size)


@dataclass(frozen=True)
class Row:
    name: str
    how: str
    scenario: Callable[[Run], None]
    backends: tuple[str, ...] = ("sqlite",)
    keys: int = 1
    #: Which backend seed 0 uses: rows of one family start on different ones, so that one seed covers both.
    first: int = 0
    #: Run on a new node: anvil 1.7.1 loses the whole state (contract code included) after some thousands
    #: of blocks with dozens of ``anvil_reorg`` calls, so each reorg row starts afresh.
    own_chain: bool = False


ROWS: list[Row] = [
    *(
        Row(
            f"kill -9 at `{transition}`",
            "worker process killed (SIGKILL) at the transition or up to 0.3 s after it",
            kill_at(transition),
            ("sqlite", "postgresql"),
            first=number % 2,
        )
        for number, transition in enumerate(TRANSITIONS)
    ),
    *(
        Row(
            f"reorg, depth {depth}",
            f"`anvil_reorg` {depth} block(s) deep once the transaction is in; finality {depth + 2} blocks",
            reorg(depth),
            own_chain=True,
        )
        for depth in REORG_DEPTHS
    ),
    Row("dropped transaction", "`anvil_dropTransaction` after broadcast, 1-3 times in a row", dropped),
    Row("underpriced: refused", "node answers the first 1-3 broadcasts `underpriced` (injected)", underpriced_refused),
    Row(
        "underpriced: fee spike",
        "base fee raised to 3x the max fee (`anvil_setNextBlockBaseFeePerGas`) just before or after the broadcast",
        underpriced_spike,
    ),
    Row("RPC timeouts", "1 request in 5 times out (still delivered), is reset or gets 502/503", rpc_timeouts),
    Row("lying RPC: stale node", "head and `finalized` 3 blocks behind, receipts missing", lying("stale")),
    Row("lying RPC: black hole", "broadcast answered with the hash, never forwarded", lying("black-hole")),
    Row("lying RPC: stale nonce", "pending transaction count one too low", lying("nonce")),
    Row("lying RPC: says anchored", "`batchIdOf` answers a batch id for a root not on chain", lying("adopted")),
    Row("database lost (SQLite)", "statement N raises `disk I/O error` (injected), twice", database_lost),
    Row(
        "database lost (PostgreSQL)",
        "`pg_terminate_backend` on the worker's connection at statement N, twice",
        database_lost,
        ("postgresql",),
    ),
    Row("disk full writing receipts", "receipts on a small tmpfs that fills up", disk_full),
    Row(
        "two workers, one key", "two processes, one database, the same key", two_workers(True), ("sqlite", "postgresql")
    ),
    Row(
        "two workers, two keys",
        "two processes, one database, two keys of the issuer",
        two_workers(False),
        ("sqlite", "postgresql"),
        keys=2,
        first=1,
    ),
    Row("clock skew", f"second worker's clock {2 * LEASE_SECONDS} s ahead: takes over a live lease", clock_skew),
]


@dataclass
class RowResult:
    row: Row
    outcomes: list[Outcome] = field(default_factory=list)
    skipped: str | None = None

    @property
    def lost(self) -> int:
        return sum(o.lost for o in self.outcomes)

    @property
    def twice(self) -> int:
        return sum(o.twice for o in self.outcomes)


def backend_for(row: Row, seed: int) -> str:
    """The database of run ``seed`` of ``row``: its backends in turn; SQLite when PostgreSQL is not configured."""
    backend = row.backends[(seed + row.first) % len(row.backends)]
    if backend == "postgresql" and postgres_url() is None and len(row.backends) > 1:
        return "sqlite"
    return backend


def run_row(lab: Lab, row: Row, seeds: range) -> RowResult:
    """Every seed of ``row``; each run audited. A row with ``own_chain`` gets a new node of its own."""
    if row.own_chain:
        with Lab.started(lab.workdir / f"chain-{next(lab.runs)}") as own:
            return _run_row(own, row, seeds)
    return _run_row(lab, row, seeds)


def _run_row(lab: Lab, row: Row, seeds: range) -> RowResult:
    result = RowResult(row)
    for seed in seeds:
        backend = backend_for(row, seed)
        if backend == "postgresql" and postgres_url() is None:
            result.skipped = f"no PostgreSQL ({PG_URL_VARIABLE} is not set)"
            return result
        folder = lab.workdir / f"db-{next(lab.runs)}"
        folder.mkdir()
        with fresh_database(backend, folder) as url:
            run = Run(lab, seed, backend, url, keys=row.keys, label=row.name)
            try:
                row.scenario(run)
                wait_final(lab)
                outcome = run.audit()
            finally:
                run.close()
        result.outcomes.append(outcome)
    return result


def markdown(results: list[RowResult], lab: Lab | None = None) -> str:
    lines = [
        "| fault | how | runs | injected | restarts | credentials | lost | anchored twice |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for result in results:
        how = result.row.how
        if result.row.scenario is disk_full and lab is not None and not lab.can_mount:
            how = "receipt writer raises `OSError(ENOSPC)` (injected: no tmpfs without root)"
        if result.skipped:
            lines.append(f"| {result.row.name} | {how} | skipped: {result.skipped} | | | | | |")
            continue
        outcomes = result.outcomes
        backends = sorted({backend_for(result.row, seed) for seed in range(len(outcomes))})
        name = result.row.name + (f" ({', '.join(backends)})" if len(result.row.backends) > 1 else "")
        lines.append(
            f"| {name} | {how} | {len(outcomes)} | {sum(o.injected for o in outcomes)} | "
            f"{sum(o.restarts for o in outcomes)} | {sum(o.credentials for o in outcomes)} | "
            f"{result.lost} | {result.twice} |"
        )
    return "\n".join(lines)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        return worker(json.loads(Path(sys.argv[2]).read_text(encoding="utf-8")))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="runs per row (seeds 0..N-1)")
    parser.add_argument("--only", default="", help="comma-separated words: rows whose name holds one of them")
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    parser.add_argument("--verbose", action="store_true", help="print each run's errors (the restarts' causes)")
    args = parser.parse_args()
    words = [word.strip().lower() for word in args.only.split(",") if word.strip()]
    rows = [row for row in ROWS if not words or any(word in row.name.lower() for word in words)]
    started = time.monotonic()
    results = []
    with tempfile.TemporaryDirectory(prefix="fault-table-") as folder, Lab.started(Path(folder)) as lab:
        for row in rows:
            begun = time.monotonic()
            result = run_row(lab, row, range(args.seeds))
            results.append(result)
            print(
                f"  {row.name}: {len(result.outcomes)} runs, lost {result.lost}, twice {result.twice} "
                f"({time.monotonic() - begun:.1f} s){' ' + result.skipped if result.skipped else ''}",
                file=sys.stderr,
            )
            for outcome in result.outcomes:
                for problem in outcome.problems[:5] + (outcome.errors if args.verbose else []):
                    print(f"    {problem}", file=sys.stderr)
        table = markdown(results, lab)
    print(table)
    print(f"\n{sum(len(r.outcomes) for r in results)} runs in {time.monotonic() - started:.0f} s")
    if args.markdown:
        args.markdown.write_text(table + "\n", encoding="utf-8")
    return 1 if any(r.lost or r.twice for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
