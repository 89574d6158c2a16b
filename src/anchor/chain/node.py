"""The local chain: anvil run in the background, bound to 127.0.0.1, its state kept under ``node_dir``.

:func:`start` runs (see :func:`anvil_command`)::

    anvil --host 127.0.0.1 --port PORT --chain-id CHAIN_ID
          --state NODE_DIR/state.json --state-interval 2
          --slots-in-an-epoch 1 --block-time BLOCK_TIME

Finality: the issuer waits for, and the verifier checks, the ``finalized`` block tag. With anvil's
default 32 slots per epoch ``finalized`` lags far behind the head, and with on-demand mining no block
follows the anchoring one, so ``finalized`` would never reach it. One slot per epoch plus interval
mining make ``finalized`` trail the head by 2 blocks: about 2 s at the default block time of 1 s.

State: anvil loads ``state.json`` when it starts, writes it every 2 s and again on SIGTERM, so
:func:`stop` loses nothing and a ``kill -9`` loses at most the last 2 s. Deployed contracts, their
storage, balances and the block height survive a restart.

A restored node has the state of its head block only, not of the blocks before it: ``finalized`` (head - 2)
would have none, and an ``eth_call`` there (what a verifier asks) fails with ``BlockOutOfRangeError`` until
two more blocks are mined. So :func:`start` mines blocks on a restored node until its finalized block has
a state, before returning. Not ``--preserve-historical-states``: it dumps one state per block (up to about
5,000 of them, the whole state each: 91 MB after 1,200 blocks of an empty chain), rewritten every 2 s.

Files in ``node_dir``: ``anvil.pid``; ``node.json`` (pid, port and chain id the node was started with);
``anvil.log`` (the previous run's in ``anvil.log.1``); ``state.json``; ``node.lock``. The folder, and
``ANCHOR_HOME`` when this creates it, are private to their owner (0700). POSIX only.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anchor
from anchor.chain.jsonrpc import JsonRpcEndpoint, RpcError, parse_quantity
from anchor.config import Settings
from anchor.errors import NodeError
from anchor.files import private_directory

DEFAULT_CHAIN_ID = 31337
HOST = "127.0.0.1"
#: Seconds between state dumps: the most a ``kill -9`` can lose.
STATE_INTERVAL = 2
PID_FILE = "anvil.pid"
INFO_FILE = "node.json"
LOG_FILE = "anvil.log"
STATE_FILE = "state.json"
LOCK_FILE = "node.lock"
#: How many lines of ``anvil.log`` an error message quotes.
LOG_TAIL_LINES = 15
_SETUP_HINT = "run `npm ci` (or make setup) in the anchor repository, or set ANCHOR_ANVIL to an anvil binary"
# Started by _launch: starts anvil in a new session, prints its pid and exits; anvil's output goes to
# the launcher's stderr, which is the log file.
_LAUNCHER = (
    "import subprocess, sys; "
    "print(subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=2, stderr=2, start_new_session=True).pid)"
)


@dataclass(frozen=True)
class NodeStatus:
    """What :func:`start` and :func:`status` report about the local node."""

    running: bool
    """Whether our anvil process is alive."""

    pid: int | None
    """Its process id, when running."""

    rpc_url: str
    """JSON-RPC URL: the node's when running, else where :func:`start` would put it."""

    chain_id: int | None
    """``eth_chainId``, when the node answers."""

    block_number: int | None
    """Height of the ``latest`` block, when the node answers."""

    finalized_block: int | None
    """Height of the ``finalized`` block, when the node answers (head - 2 once running)."""

    state_file: Path
    """Where anvil keeps the chain state."""

    log_file: Path
    """anvil's output."""

    already_running: bool = False
    """Set by :func:`start` when it found the node running and started nothing."""


@dataclass(frozen=True)
class _Paths:
    """The files of a node directory."""

    dir: Path
    pid: Path
    info: Path
    log: Path
    state: Path
    lock: Path

    @classmethod
    def of(cls, settings: Settings) -> _Paths:
        node_dir = settings.node_dir
        return cls(
            dir=node_dir,
            pid=node_dir / PID_FILE,
            info=node_dir / INFO_FILE,
            log=node_dir / LOG_FILE,
            state=node_dir / STATE_FILE,
            lock=node_dir / LOCK_FILE,
        )


def rpc_url(port: int) -> str:
    """The JSON-RPC URL of a local node on ``port``."""
    return f"http://{HOST}:{port}"


def find_anvil() -> Path:
    """The anvil binary: ``ANCHOR_ANVIL``, else the npm package's native binary, else ``anvil`` on PATH.

    The npm binary ``node_modules/@foundry-rs/anvil-<platform>-<arch>/bin/anvil`` is looked for in the
    current directory and its parents, then in the repository this package was installed from. The
    native binary is preferred to the ``node_modules/.bin/anvil`` node wrapper, so that the recorded pid
    is anvil's own.
    """
    configured = os.environ.get("ANCHOR_ANVIL")
    if configured:
        path = Path(configured).expanduser()
        if not _is_executable(path):
            raise NodeError(f"ANCHOR_ANVIL={configured} is not an executable file: {_SETUP_HINT}")
        return path.resolve()
    native = Path("node_modules", "@foundry-rs", f"anvil-{_npm_platform()}", "bin", "anvil")
    cwd = Path.cwd()
    repo_root = Path(anchor.__file__).resolve().parents[2]
    for base in (cwd, *cwd.parents, repo_root):
        if _is_executable(base / native):
            return (base / native).resolve()
    on_path = shutil.which("anvil")
    if on_path:
        found = Path(on_path).resolve()
        # node_modules/.bin/anvil links to the node wrapper @foundry-rs/anvil/bin.mjs: use its binary.
        beside = found.parent.parent / f"anvil-{_npm_platform()}" / "bin" / "anvil"
        if found.name == "bin.mjs" and _is_executable(beside):
            return beside
        return found
    raise NodeError(f"anvil not found: {_SETUP_HINT}")


def anvil_command(anvil: Path, settings: Settings, chain_id: int = DEFAULT_CHAIN_ID) -> list[str]:
    """The command line :func:`start` runs (see the module docstring for why each option is there)."""
    return [
        str(anvil),
        "--host",
        HOST,
        "--port",
        str(settings.node_port),
        "--chain-id",
        str(chain_id),
        "--state",
        str(_Paths.of(settings).state),
        "--state-interval",
        str(STATE_INTERVAL),
        "--slots-in-an-epoch",
        "1",
        "--block-time",
        f"{settings.node_block_time:g}",
    ]


def start(settings: Settings, *, chain_id: int = DEFAULT_CHAIN_ID, wait: float = 15.0) -> NodeStatus:
    """Start anvil in the background on ``settings.node_port`` and wait until it answers on ``chain_id``.

    Harmless when the node already runs: its status comes back with ``already_running`` set (a node
    running on another chain id is an error). A stale pid file is removed. The node gets its own
    session, so it outlives the calling process; its output goes to ``anvil.log``.

    Raises :class:`NodeError` when anvil is missing, the port is taken, the state in ``node_dir``
    belongs to another chain, or anvil does not answer with ``chain_id`` within ``wait`` seconds.
    """
    paths = _Paths.of(settings)
    private_directory(paths.dir)
    with _locked(paths):
        pid = _running_pid(paths)
        info = _read_info(paths)
        if pid is not None:
            found = _query(paths, pid, _recorded_port(info, pid, settings))
            if found.chain_id is not None and found.chain_id != chain_id:
                raise NodeError(
                    f"a local node already runs on chain {found.chain_id} (pid {pid}, {found.rpc_url}): "
                    f"stop it with `anchor node stop` before starting chain {chain_id}"
                )
            return replace(found, already_running=True)
        paths.pid.unlink(missing_ok=True)
        recorded_chain = info.get("chain_id") if info else None
        if paths.state.exists() and recorded_chain not in (None, chain_id):
            raise NodeError(
                f"the chain state in {paths.state} is of chain {recorded_chain}, not {chain_id}: "
                f"use another ANCHOR_HOME, or delete {paths.dir} to start afresh"
            )
        port = settings.node_port
        _check_port_free(port)
        command = anvil_command(find_anvil(), settings, chain_id)
        if paths.log.exists():
            paths.log.replace(paths.log.with_name(LOG_FILE + ".1"))
        restored = paths.state.exists()
        pid = _launch(command, paths)
        paths.pid.write_text(f"{pid}\n", encoding="ascii")
        try:
            _wait_until_ready(pid, paths, port, chain_id, wait)
            if restored:
                _mine_until_finalized_has_state(port, wait)
        except BaseException:
            _terminate(pid, timeout=5.0)
            paths.pid.unlink(missing_ok=True)
            raise
        record = {
            "pid": pid,
            "port": port,
            "chain_id": chain_id,
            "block_time": settings.node_block_time,
            "command": command,
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        paths.info.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        return _query(paths, pid, port)


def stop(settings: Settings, timeout: float = 10.0) -> bool:
    """Stop the node: SIGTERM (anvil then writes its state), SIGKILL after ``timeout`` seconds.

    Returns whether a node was running; stopping when none runs is harmless (a stale pid file is removed).
    """
    paths = _Paths.of(settings)
    if not paths.dir.is_dir():
        return False
    with _locked(paths):
        pid = _running_pid(paths)
        if pid is not None:
            _terminate(pid, timeout)
        paths.pid.unlink(missing_ok=True)
        return pid is not None


def status(settings: Settings) -> NodeStatus:
    """Whether the node runs, and when it answers its chain id, block height and finalized block."""
    paths = _Paths.of(settings)
    pid = _running_pid(paths)
    if pid is None:
        return NodeStatus(
            running=False,
            pid=None,
            rpc_url=rpc_url(settings.node_port),
            chain_id=None,
            block_number=None,
            finalized_block=None,
            state_file=paths.state,
            log_file=paths.log,
        )
    return _query(paths, pid, _recorded_port(_read_info(paths), pid, settings))


def _query(paths: _Paths, pid: int, port: int) -> NodeStatus:
    """The status of our running node, with whatever its RPC answers."""
    url = rpc_url(port)
    chain_id = block_number = finalized = None
    endpoint = JsonRpcEndpoint(url, timeout=5.0)
    with contextlib.suppress(NodeError), contextlib.closing(endpoint):
        chain_id = _rpc_quantity(endpoint, "eth_chainId", [])
        block_number = _rpc_quantity(endpoint, "eth_blockNumber", [])
        finalized = _rpc_quantity(endpoint, "eth_getBlockByNumber", ["finalized", False], field="number")
    return NodeStatus(
        running=True,
        pid=pid,
        rpc_url=url,
        chain_id=chain_id,
        block_number=block_number,
        finalized_block=finalized,
        state_file=paths.state,
        log_file=paths.log,
    )


def _launch(command: list[str], paths: _Paths) -> int:
    """Run ``command`` in a session of its own, output to the log, through a launcher that exits at once.

    anvil is thus not our child: it is reparented (to init) at once, so it outlives the caller, and no
    long-running caller (a test session, a server) is left with a zombie or a pending ``Popen`` to reap.
    """
    with paths.log.open("wb") as log:
        launcher = subprocess.run(  # noqa: S603 (our own command line, no shell)
            [sys.executable, "-I", "-c", _LAUNCHER, *command],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            cwd=paths.dir,
            check=False,
            timeout=60,
        )
    try:
        return int(launcher.stdout)
    except ValueError:
        raise NodeError(f"cannot run {command[0]}; {paths.log}:\n{_log_tail(paths.log)}") from None


def _wait_until_ready(pid: int, paths: _Paths, port: int, chain_id: int, wait: float) -> None:
    """Return once anvil answers ``eth_chainId`` with ``chain_id``; NodeError with the log's tail otherwise."""
    url = rpc_url(port)
    deadline = time.monotonic() + wait
    with contextlib.closing(JsonRpcEndpoint(url, timeout=1.0)) as endpoint:
        while True:
            if _has_exited(pid):
                log = _log_tail(paths.log)
                if "Address already in use" in log:
                    raise NodeError(_port_taken(port))
                hint = ""
                if "failed to parse json file" in log:
                    hint = f" ({paths.state} is damaged: restore it, or delete {paths.dir} to start afresh)"
                raise NodeError(f"anvil exited while starting{hint}; {paths.log}:\n{log}")
            try:
                answered = _rpc_quantity(endpoint, "eth_chainId", [])
            except NodeError:
                answered = None
            if answered is not None:
                if answered != chain_id:
                    log = _log_tail(paths.log)
                    raise NodeError(f"anvil on {url} answers chain id {answered}, not {chain_id}; {paths.log}:\n{log}")
                return
            if time.monotonic() >= deadline:
                log = _log_tail(paths.log)
                raise NodeError(f"anvil did not answer on {url} within {wait:g} s; {paths.log}:\n{log}")
            time.sleep(0.05)


#: Blocks :func:`_mine_until_finalized_has_state` mines at most: ``finalized`` trails the head by 2.
_MAX_CATCH_UP_BLOCKS = 8


def _mine_until_finalized_has_state(port: int, wait: float) -> None:
    """Mine blocks on a restored node until state at its ``finalized`` block answers (see the module docstring).

    anvil restores the state of its head only; with one slot per epoch ``finalized`` is head - 2, so two
    blocks mined on top of the restored head make ``finalized`` a block with a state. Asked, not assumed.
    """
    url = rpc_url(port)
    with contextlib.closing(JsonRpcEndpoint(url, timeout=max(wait, 1.0))) as endpoint:
        failure: RpcError | None = None
        for _ in range(_MAX_CATCH_UP_BLOCKS + 1):
            try:
                endpoint.call("eth_getBalance", ["0x0000000000000000000000000000000000000000", "finalized"])
                return
            except RpcError as error:  # "BlockOutOfRangeError: block height is 131 but requested was 129"
                failure = error
            try:
                endpoint.call("evm_mine", [])
            except RpcError as error:
                raise NodeError(f"cannot mine a block on the restored node on {url}: {error}") from error
    raise NodeError(
        f"the restored node on {url} still has no state for its finalized block after {_MAX_CATCH_UP_BLOCKS} "
        f"new blocks: {failure}"
    )


def _terminate(pid: int, timeout: float) -> None:
    """SIGTERM ``pid``, SIGKILL it if it still runs after ``timeout`` seconds, and wait until it is gone."""
    for sig, grace in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if _has_exited(pid):
                return
            time.sleep(0.05)
    raise NodeError(f"anvil (pid {pid}) did not exit after SIGKILL")


def _has_exited(pid: int) -> bool:
    """Whether ``pid`` is gone or a zombie: it has closed its files (its port) and written its state."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    if Path("/proc/self/status").exists():
        try:
            text = Path(f"/proc/{pid}/status").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return True
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        # A killed multi-threaded process shows as a zombie while its other threads still hold its files.
        return fields.get("State", "R").split()[0] in {"Z", "X"} and int(fields.get("Threads", "1")) <= 1
    return _ps(pid) is None


def _running_pid(paths: _Paths) -> int | None:
    """The pid in the pid file if that process is our anvil (its command line names our state file)."""
    try:
        pid = int(paths.pid.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None
    if pid <= 0 or not _is_our_anvil(pid, paths.state):
        return None
    return pid


def _is_our_anvil(pid: int, state_file: Path) -> bool:
    """Whether ``pid`` is a live process started with ``--state state_file``: pids get reused."""
    command = _command_line(pid)
    return command is not None and f" --state {state_file} " in f" {command} "


def _command_line(pid: int) -> str | None:
    """The command line of a live process, arguments joined by spaces; None when gone or a zombie."""
    if Path("/proc/self/cmdline").exists():
        try:
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None
        return " ".join(arg.decode(errors="replace") for arg in raw.split(b"\0") if arg) or None
    return _ps(pid)


def _ps(pid: int) -> str | None:
    """The command line of a live, non-zombie process according to ``ps`` (systems without /proc)."""
    result = subprocess.run(  # noqa: S603
        ["ps", "-ww", "-o", "stat=", "-o", "command=", "-p", str(pid)],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    state, _, command = result.stdout.strip().partition(" ")
    if result.returncode != 0 or not state or state.startswith("Z"):
        return None
    return command.strip() or None


def _recorded_port(info: dict[str, Any] | None, pid: int, settings: Settings) -> int:
    """The port the running node was started with, per ``node.json``; else the configured one."""
    if info and info.get("pid") == pid and isinstance(info.get("port"), int):
        return int(info["port"])
    return settings.node_port


def _read_info(paths: _Paths) -> dict[str, Any] | None:
    try:
        info = json.loads(paths.info.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def _check_port_free(port: int, patience: float = 1.0) -> None:
    """NodeError naming the port when another program listens on it (anvil binds the same way).

    A node killed a moment ago may still hold the port for a few milliseconds: wait ``patience`` seconds.
    """
    deadline = time.monotonic() + patience
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((HOST, port))
                return
            except OSError as error:
                if error.errno != errno.EADDRINUSE:
                    raise NodeError(f"cannot listen on {HOST}:{port}: {error.strerror}") from error
        if time.monotonic() >= deadline:
            raise NodeError(_port_taken(port))
        time.sleep(0.1)


def _port_taken(port: int) -> str:
    return (
        f"port {port} on {HOST} is already in use by another program: "
        "choose another port with ANCHOR_NODE_PORT or --port"
    )


def _rpc_quantity(endpoint: JsonRpcEndpoint, method: str, params: list[Any], *, field: str | None = None) -> int:
    """A JSON-RPC call whose result (or its ``field``) is a hex quantity, as an int; NodeError otherwise."""
    try:
        result = endpoint.call(method, params)
        if field is not None:
            result = result.get(field) if isinstance(result, dict) else None
        return parse_quantity(result, f"{method} on {endpoint.shown_url}")
    except RpcError as error:
        raise NodeError(f"{method} on {endpoint.shown_url} failed: {error}") from error


@contextlib.contextmanager
def _locked(paths: _Paths) -> Iterator[None]:
    """Serialise start and stop on one node directory across processes."""
    with paths.lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _log_tail(log: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.rstrip().splitlines()[-lines:]) or "(empty log)"


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _npm_platform() -> str:
    """``<platform>-<arch>`` as in the npm package names ``@foundry-rs/anvil-linux-amd64`` and siblings."""
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return f"{sys.platform}-{arch}"
