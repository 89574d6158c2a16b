"""The local anvil node: lifecycle, persistence, stale pid files, port clashes, loopback binding, finality."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from web3 import Web3

from anchor.chain import node
from anchor.config import Settings
from anchor.errors import NodeError

from support.anvil import free_port

pytestmark = pytest.mark.slow

DEV_ACCOUNT = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # anvil's first unlocked account
RECIPIENT = "0x000000000000000000000000000000000000dEaD"
# Constructor: SSTORE(0, 42), then return the one-byte runtime code 0xfe.
TINY_CONTRACT = "0x602a60005560fe60005360016000f3"


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    """Settings with a private home and a free port; any node started on them is stopped afterwards.

    Not conftest's shared ``anvil`` node: these tests start, stop, kill and restart the node themselves.
    """
    configured = Settings(home=tmp_path / "home", node_port=free_port())
    yield configured
    node.stop(configured)


def web3_for(status: node.NodeStatus) -> Web3:
    return Web3(Web3.HTTPProvider(status.rpc_url))


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def has_exited(pid: int) -> bool:
    """Gone, or a zombie (anvil is reparented: reaping it is not ours to do)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_anvil_is_the_native_npm_binary() -> None:
    anvil = node.find_anvil()
    assert anvil.name == "anvil"
    assert anvil.parent.parent.name.startswith("anvil-")  # @foundry-rs/anvil-<platform>-<arch>, not bin.mjs


def test_anchor_anvil_is_honoured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ANCHOR_ANVIL", str(node.find_anvil()))
    assert node.find_anvil() == Path(os.environ["ANCHOR_ANVIL"]).resolve()
    monkeypatch.setenv("ANCHOR_ANVIL", str(tmp_path / "missing"))
    with pytest.raises(NodeError, match="npm ci"):
        node.find_anvil()


def test_command_line(settings: Settings) -> None:
    command = node.anvil_command(Path("/bin/anvil"), settings, chain_id=137)
    assert command == [
        "/bin/anvil",
        "--host",
        "127.0.0.1",
        "--port",
        str(settings.node_port),
        "--chain-id",
        "137",
        "--state",
        str(settings.node_dir / "state.json"),
        "--state-interval",
        "2",
        "--slots-in-an-epoch",
        "1",
        "--block-time",
        "1",
    ]


def test_lifecycle(settings: Settings) -> None:
    assert node.status(settings).running is False
    assert node.stop(settings) is False  # nothing runs, not even a node directory

    started = node.start(settings)
    assert started.running
    assert started.pid is not None
    assert not started.already_running
    assert started.rpc_url == f"http://127.0.0.1:{settings.node_port}"
    assert started.chain_id == 31337
    assert (settings.node_dir / "anvil.pid").read_text().strip() == str(started.pid)

    current = node.status(settings)
    assert (current.running, current.pid, current.chain_id) == (True, started.pid, 31337)
    assert current.block_number is not None
    assert current.finalized_block is not None
    assert current.log_file.read_text()  # anvil writes its banner there

    again = node.start(settings)
    assert again.already_running
    assert again.pid == started.pid

    assert node.stop(settings) is True
    assert has_exited(started.pid)
    assert not (settings.node_dir / "anvil.pid").exists()
    assert node.status(settings).running is False
    assert node.stop(settings) is False
    assert current.state_file.is_file()  # written on SIGTERM


def test_node_outlives_the_process_that_started_it(settings: Settings) -> None:
    script = (
        "import sys; from anchor.config import Settings; from anchor.chain import node; "
        "print(node.start(Settings(home=sys.argv[1], node_port=int(sys.argv[2]))).pid)"
    )
    launched = subprocess.run(
        [sys.executable, "-c", script, str(settings.home), str(settings.node_port)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    current = node.status(settings)
    assert current.running
    assert current.pid == int(launched.stdout)
    assert current.chain_id == 31337
    assert os.getsid(current.pid) == current.pid  # its own session, away from the caller's terminal


def test_restart_keeps_contracts_balances_and_height(settings: Settings) -> None:
    w3 = web3_for(node.start(settings))
    deployed = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_transaction({"from": DEV_ACCOUNT, "data": TINY_CONTRACT})
    )
    sent = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_transaction({"from": DEV_ACCOUNT, "to": RECIPIENT, "value": 10**18})
    )
    contract = deployed["contractAddress"]
    assert w3.eth.get_code(contract) == b"\xfe"
    height = w3.eth.block_number

    assert node.stop(settings)
    w3 = web3_for(node.start(settings))
    assert w3.eth.block_number >= height
    assert w3.eth.get_code(contract) == b"\xfe"
    assert int.from_bytes(w3.eth.get_storage_at(contract, 0), "big") == 42
    assert w3.eth.get_balance(RECIPIENT) == 10**18
    assert w3.eth.get_transaction_receipt(sent["transactionHash"])["status"] == 1


def test_kill_9_loses_at_most_the_state_interval(settings: Settings) -> None:
    started = node.start(settings)
    w3 = web3_for(started)
    w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction({"from": DEV_ACCOUNT, "to": RECIPIENT, "value": 7}))
    time.sleep(node.STATE_INTERVAL + 1)
    assert started.pid is not None
    os.kill(started.pid, signal.SIGKILL)
    wait_for(lambda: has_exited(started.pid))
    assert node.status(settings).running is False

    w3 = web3_for(node.start(settings))  # the pid file is stale now
    assert w3.eth.get_balance(RECIPIENT) == 7


def test_stale_pid_file_of_a_dead_process(settings: Settings) -> None:
    settings.node_dir.mkdir(parents=True)
    dead = subprocess.Popen(["true"])
    dead.wait()
    (settings.node_dir / "anvil.pid").write_text(f"{dead.pid}\n")

    assert node.status(settings).running is False
    started = node.start(settings)
    assert started.running
    assert started.pid != dead.pid
    assert not started.already_running


def test_stale_pid_file_naming_another_program_is_not_touched(settings: Settings) -> None:
    settings.node_dir.mkdir(parents=True)
    pid_file = settings.node_dir / "anvil.pid"
    pid_file.write_text(f"{os.getpid()}\n")  # this test process: alive, and not anvil

    assert node.status(settings).running is False
    assert node.stop(settings) is False  # must not signal us
    assert not pid_file.exists()

    pid_file.write_text(f"{os.getpid()}\n")
    started = node.start(settings)
    assert started.running
    assert started.pid != os.getpid()


def test_port_in_use_is_named(settings: Settings) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", settings.node_port))
        squatter.listen()
        with pytest.raises(NodeError, match=rf"port {settings.node_port}\b.*ANCHOR_NODE_PORT or --port"):
            node.start(settings)
    assert not (settings.node_dir / "anvil.pid").exists()
    assert node.status(settings).running is False


def test_bound_to_loopback_only(settings: Settings) -> None:
    started = node.start(settings)
    cmdline = Path(f"/proc/{started.pid}/cmdline").read_bytes().split(b"\0")
    assert cmdline[cmdline.index(b"--host") + 1] == b"127.0.0.1"

    port_hex = f"{settings.node_port:04X}"
    listening = [  # /proc/net/tcp: "sl local_address rem_address st ...", state 0A is LISTEN
        line.split()[1]
        for table in ("/proc/net/tcp", "/proc/net/tcp6")
        if Path(table).exists()
        for line in Path(table).read_text().splitlines()[1:]
        if line.split()[1].endswith(f":{port_hex}") and line.split()[3] == "0A"
    ]
    assert listening == [f"0100007F:{port_hex}"]  # 127.0.0.1, and nothing on 0.0.0.0 or IPv6
    with socket.create_connection(("127.0.0.1", settings.node_port), timeout=2):
        pass


def test_finalized_trails_head_by_two_blocks(settings: Settings) -> None:
    node.start(settings)
    wait_for(lambda: (node.status(settings).block_number or 0) >= 5)
    current = node.status(settings)
    assert current.block_number is not None
    assert current.finalized_block is not None
    assert 0 < current.block_number - current.finalized_block <= 3


def test_chain_137_for_polygon_simulation(settings: Settings) -> None:
    started = node.start(settings, chain_id=137)
    assert started.chain_id == 137
    assert web3_for(started).eth.chain_id == 137
    assert node.start(settings, chain_id=137).already_running
    with pytest.raises(NodeError, match="already runs on chain 137"):
        node.start(settings, chain_id=31337)

    node.stop(settings)
    with pytest.raises(NodeError, match=r"state .* is of chain 137, not 31337"):
        node.start(settings, chain_id=31337)


def test_anvil_that_exits_at_once_is_reported_with_its_log(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake = tmp_path / "anvil"
    fake.write_text("#!/bin/sh\necho 'cannot start: broken on purpose'\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("ANCHOR_ANVIL", str(fake))
    with pytest.raises(NodeError, match=r"(?s)anvil exited while starting.*broken on purpose"):
        node.start(settings)
    assert not (settings.node_dir / "anvil.pid").exists()
