"""The framework-neutral operations behind the ape and brownie scripts (issue 15), on the in-process EVM.

Batches to anchor come from ``anchor`` only (a built batch of the issuer database, or a tree dump of its
credential leaves, each at its own index); development accounts are refused on public chains; transactions
are printed before signing and after mining; reverts caught by a framework become sentences.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from eth_abi import encode
from eth_account import Account
from web3 import Web3
from web3.contract import Contract

from anchor.chain.connection import Chain
from anchor.chain.contract_errors import ErrorDecoder
from anchor.chain.keys import development_accounts
from anchor.chain.registry import Registry, describe
from anchor.config import load_settings
from anchor.credentials.examples import generate_credentials, issuer_for_country
from anchor.credentials.receipt import LEAF_ENCODING
from anchor.errors import ContractRevertError, InvalidInputError, SigningKeyError
from anchor.frameworks import brownie_support
from anchor.frameworks.operations import AnchorableBatch, Operator, batch_from_dump, batch_from_store
from anchor.issuing.batch import build_tree
from anchor.issuing.intake import prepare_credential
from anchor.issuing.store import Store
from anchor.merkle import StandardMerkleTree
from anchor.networks import NETWORKS

DEV = development_accounts()
REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
DIGESTS = [bytes([n]) * 32 for n in range(1, 5)]


def _dump(tmp_path: Path, data: object, name: str = "tree.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def _tree(indices: list[int] | None = None, encoding: tuple[str, ...] = LEAF_ENCODING) -> dict[str, object]:
    values = list(zip(DIGESTS, indices or range(len(DIGESTS)), strict=True))
    if encoding != LEAF_ENCODING:
        values = [(int.from_bytes(digest), index) for digest, index in values]  # type: ignore[misc]
    return dict(StandardMerkleTree.of(values, list(encoding)).dump())


# ---------------------------------------------------------------------------------------------- tree dumps


def test_a_dump_of_anchors_leaves_gives_its_root_and_size(tmp_path: Path) -> None:
    data = _tree()
    batch = batch_from_dump(_dump(tmp_path, data))
    assert batch == AnchorableBatch(StandardMerkleTree.load(data).root, 4, f"tree dump {tmp_path / 'tree.json'}")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_tree([1, 0, 2, 3]), "value 0 carries index 1"),  # leaves not at their own index: revocation bits lie
        (_tree(encoding=("uint256", "uint256")), "not anchor's credential leaves"),
        ("{not json", "not JSON"),
        ({"format": "standard-v2", "tree": [], "values": []}, "unknown tree dump format"),
    ],
)
def test_a_dump_that_is_not_one_of_anchors_batches_is_refused(tmp_path: Path, data: object, message: str) -> None:
    path = _dump(tmp_path, data)
    with pytest.raises(InvalidInputError, match=message) as refused:
        batch_from_dump(path)
    assert str(refused.value).startswith(f"tree dump {path}: ")


def test_a_dump_with_a_forged_node_or_root_is_refused(tmp_path: Path) -> None:
    data = _tree()
    data["tree"] = ["0x" + "ab" * 32, *data["tree"][1:]]  # type: ignore[index]
    with pytest.raises(InvalidInputError, match=r"tree dump .*: "):
        batch_from_dump(_dump(tmp_path, data))
    with pytest.raises(InvalidInputError, match="cannot read it"):
        batch_from_dump(tmp_path / "missing.json")


# ---------------------------------------------------------------------------------------------- the issuer database


@pytest.fixture
def built(tmp_path: Path) -> tuple[object, int]:
    settings = load_settings(environ={"ANCHOR_HOME": str(tmp_path / "home")})
    issuer = issuer_for_country("FI")
    with Store.open(settings) as store:
        store.queue([prepare_credential(c) for c in generate_credentials(3, seed=1515, issuer=issuer, salted=False)])
        batch = store.build_batch(10, 31337, REGISTRY, DEV[1].address, build_tree)
        assert batch is not None
        return settings, batch.id


def test_a_built_batch_of_the_issuer_database_is_anchorable(built: tuple[object, int]) -> None:
    settings, batch_id = built
    batch = batch_from_store(settings, batch_id, 31337, REGISTRY.lower())  # type: ignore[arg-type]
    with Store.open(settings) as store:  # type: ignore[arg-type]
        record = store.get_batch(batch_id)
    assert (batch.root, batch.size, batch.built_for) == (record.root, 3, DEV[1].address)
    assert batch.source == f"batch {batch_id} of the issuer database"


@pytest.mark.parametrize(
    ("chain_id", "registry", "message"),
    [
        (80002, REGISTRY, "was built for registry .* on chain 31337, not for .* on chain 80002"),
        (31337, "0x" + "11" * 20, "was built for registry"),
    ],
)
def test_a_batch_of_another_chain_or_registry_is_refused(
    built: tuple[object, int], chain_id: int, registry: str, message: str
) -> None:
    settings, batch_id = built
    with pytest.raises(InvalidInputError, match=message):
        batch_from_store(settings, batch_id, chain_id, registry)  # type: ignore[arg-type]


def test_a_batch_past_built_or_missing_is_refused(built: tuple[object, int]) -> None:
    settings, batch_id = built
    with Store.open(settings) as store:  # type: ignore[arg-type]
        store.update_batch(batch_id, state="anchored", onchain_batch_id=7, tx_hash="0x" + "ab" * 32)
    with pytest.raises(InvalidInputError, match="anchored already, as on-chain batch 7"):
        batch_from_store(settings, batch_id, 31337, REGISTRY)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match=f"no batch {batch_id + 1} in the issuer database"):
        batch_from_store(settings, batch_id + 1, 31337, REGISTRY)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------- accounts


def _operator_on(chain_id: int) -> Operator:
    w3 = SimpleNamespace(eth=SimpleNamespace(chain_id=chain_id))
    return Operator(w3, f"test:{chain_id}", settings=load_settings(environ={}))  # type: ignore[arg-type]


@pytest.mark.parametrize("chain_id", [137, 80002, 1])
def test_development_accounts_are_refused_on_public_chains(chain_id: int) -> None:
    operator = _operator_on(chain_id)
    own = Account.create().address
    operator.check_account(own)
    for address in (DEV[0].address, DEV[19].address.lower()):
        with pytest.raises(SigningKeyError, match=f"refusing to sign on chain {chain_id}"):
            operator.check_account(address)
    with pytest.raises(SigningKeyError, match="its private key is public"):
        operator.check_account(own, development=True)  # a framework's test account of another mnemonic or index


@pytest.mark.parametrize("chain_id", [31337, 1337])
def test_development_accounts_sign_on_local_chains(chain_id: int) -> None:
    _operator_on(chain_id).check_account(DEV[0].address, development=True)


# ---------------------------------------------------------------------------------------------- transactions


@pytest.fixture
def operator(w3: Web3, registry: Contract, tmp_path: Path) -> tuple[Operator, list[str]]:
    lines: list[str] = []
    environ = {"ANCHOR_HOME": str(tmp_path / "home"), "ANCHOR_REGISTRY": registry.address}
    return Operator(w3, "eth-tester", settings=load_settings(environ=environ), echo=lines.append), lines


def test_a_transaction_is_printed_before_signing_and_after_mining(
    operator: tuple[Operator, list[str]], accounts: list[str]
) -> None:
    op, lines = operator
    transaction = op.registration("Aalto-yliopisto", "fi", "did:web:aalto.fi", [accounts[1]])
    assert transaction.description == (
        f"registerIssuer(name='Aalto-yliopisto', country='FI', uri='did:web:aalto.fi', signers=[{accounts[1]}])"
    )

    def sign_and_send(tx: object) -> str:
        sent = op.chain.w3.eth.send_transaction({"from": accounts[0], "to": tx.to, "data": tx.data})  # type: ignore[attr-defined]
        return sent.to_0x_hex()

    receipt = op.send(transaction, accounts[0], sign_and_send)
    assert op.registered_issuer(receipt) == op.registry.issuer_count()
    assert lines[0] == f"transaction: {transaction.description}"
    assert lines[1].startswith(f"  from {accounts[0]} to {op.registry.address} on chain ")
    assert lines[2].startswith(f"  mined: tx {receipt['transactionHash'].to_0x_hex()} in block ")


def test_many_revocations_are_split_and_shown_short(operator: tuple[Operator, list[str]]) -> None:
    op, _ = operator
    sparse = [index * 256 for index in range(1200)]  # one storage word each: ~23k gas per index
    transactions = op.revocations(1, sparse, "fraud")
    assert len(transactions) > 1
    assert transactions[0].description.startswith("revokeCredentials(batchId=1, indices=[0, 256, 512, ")
    shown = re.compile(r"revokeCredentials\(batchId=1, indices=\[.*, … (\d+) in all\], reason=3\)")
    counts = [shown.fullmatch(t.description) for t in transactions]
    assert sum(int(match.group(1)) for match in counts if match) == 1200
    (whole,) = op.revocations(1, [], "withdrawn")
    assert whole.description == "revokeBatch(batchId=1, reason=6)"
    with pytest.raises(InvalidInputError, match="unknown revocation reason 'lost': choose one of unspecified"):
        op.revocations(1, [], "lost")


def test_revert_data_a_framework_caught_becomes_the_registrys_sentence(registry_artifact: dict[str, object]) -> None:
    decoder = ErrorDecoder(registry_artifact["abi"])  # type: ignore[arg-type]
    data = decoder.selector("AccessControlUnauthorizedAccount") + encode(
        ["address", "bytes32"], [DEV[3].address, bytes(32)]
    )
    error = Registry.refusal("0x" + data.hex())
    assert isinstance(error, ContractRevertError)
    assert str(error) == f"{DEV[3].address} is not the registry admin (AccessControlUnauthorizedAccount)"
    assert str(Registry.refusal("0xdeadbeef")) == "the registry refused (revert data 0xdeadbeef)"
    assert str(Registry.refusal("not hex")) == "the registry refused (revert data not hex)"


def test_describe_shows_names_text_and_addresses() -> None:
    chain = Chain(w3=Web3(), network=NETWORKS["local"], chain_id=31337, rpc_url="test")
    registry = Registry(chain, REGISTRY)
    call = registry.register_issuer_call("Universität Heidelberg", "DE", "did:web:uni-heidelberg.de", [DEV[1].address])
    assert describe(call) == (
        "registerIssuer(name='Universität Heidelberg', country='DE', uri='did:web:uni-heidelberg.de', "
        f"signers=[{DEV[1].address}])"
    )
    assert describe(registry.anchor_call("0x" + "1f" * 32, 1000)) == f"anchor(root=0x{'1f' * 32}, size=1000)"


# ---------------------------------------------------------------------------------------------- brownie's side


class _BrownieAccounts:
    """brownie's ``accounts`` as the brownie scripts use it: add a private key, load a keystore account."""

    def __init__(self, keystore: dict[str, str]) -> None:
        self.keystore = keystore

    def add(self, private_key: str) -> SimpleNamespace:
        return SimpleNamespace(address=Account.from_key(private_key).address)

    def load(self, name: str) -> SimpleNamespace:
        return SimpleNamespace(address=self.keystore[name])


def test_brownie_scripts_sign_with_development_accounts_on_local_chains_only() -> None:
    own = Account.create().address
    accounts = _BrownieAccounts({"operator": own, "leaked": DEV[2].address})
    local = SimpleNamespace(eth=SimpleNamespace(chain_id=31337))
    _, signer = brownie_support.connect(local, "anchor-local", accounts, "1")  # type: ignore[arg-type]
    assert signer.address == DEV[1].address
    polygon = SimpleNamespace(eth=SimpleNamespace(chain_id=137))
    with pytest.raises(SigningKeyError, match="refusing to sign on chain 137 \\(polygon-main\\)"):
        brownie_support.connect(polygon, "polygon-main", accounts, "0")  # type: ignore[arg-type]
    with pytest.raises(SigningKeyError, match=DEV[2].address):
        brownie_support.connect(polygon, "polygon-main", accounts, "leaked")  # type: ignore[arg-type]
    _, signer = brownie_support.connect(polygon, "polygon-main", accounts, "operator")  # type: ignore[arg-type]
    assert signer.address == own
    with pytest.raises(InvalidInputError, match="development account 20 does not exist"):
        brownie_support.connect(local, "anchor-local", accounts, "20")  # type: ignore[arg-type]


def test_brownie_sends_what_anchor_built_and_its_node_errors_become_sentences(
    operator: tuple[Operator, list[str]], accounts: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    op, lines = operator

    class Signer:
        address = accounts[0]

        def transfer(self, to: str | None, amount: int, *, data: str, silent: bool) -> SimpleNamespace:
            sent = op.chain.w3.eth.send_transaction({"from": self.address, "to": to, "data": data, "value": amount})
            return SimpleNamespace(txid=sent.to_0x_hex())

    receipt = brownie_support.send(op, Signer(), op.governance("pause"))
    assert receipt["status"] == 1
    assert op.registry.admin_status().paused
    assert lines[0] == "transaction: pause()"

    data = "0x" + ErrorDecoder(op.registry.contract.abi).selector("ExpectedPause").hex()
    node_error = ValueError({"code": 3, "message": "execution reverted", "data": data})
    monkeypatch.setattr(op, "simulate", lambda transaction, sender: (_ for _ in ()).throw(node_error))
    with pytest.raises(ContractRevertError, match=r"^the registry is not paused \(ExpectedPause\)$"):
        brownie_support.send(op, Signer(), op.governance("unpause"))
    expected = r"^error: the admin delay must be a whole number, not '-1'$"
    with pytest.raises(SystemExit, match=expected), brownie_support.reported_errors():
        brownie_support.whole_number("-1", "the admin delay")
