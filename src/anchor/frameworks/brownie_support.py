"""brownie's side of the brownie scripts (``brownie/scripts``, ``brownie run NAME FUNCTION ARGS --network ...``).

brownie lives in its own virtualenv (``make brownie``: its pins conflict with the project's), with anchor
installed beside it; this module imports nothing of brownie: the scripts pass brownie's objects in. brownie
brings its network entries and accounts; :mod:`anchor.frameworks.operations` builds, checks and prints every
transaction, which the account then signs and sends.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from web3 import Web3
from web3.types import TxReceipt

from anchor.chain.keys import DEVELOPMENT_ACCOUNT_COUNT, development_accounts
from anchor.errors import AnchorError, DeploymentError, InvalidInputError
from anchor.frameworks.operations import Operator, Transaction


def connect(web3: Web3, network: str, accounts: Any, choice: str) -> tuple[Operator, Any]:
    """The registry on brownie's connected ``network`` and the account that signs.

    ``choice``: a development account's index (0-19; on a local chain only), or the id of an account in
    brownie's keystore (``brownie accounts new NAME``; brownie asks for its password).
    """
    operator = Operator(web3, network)
    if choice.isascii() and choice.isdigit():
        index = int(choice)
        if index >= DEVELOPMENT_ACCOUNT_COUNT:
            raise InvalidInputError(f"development account {index} does not exist (0-{DEVELOPMENT_ACCOUNT_COUNT - 1})")
        development = development_accounts()[index]
        operator.check_account(development.address, development=True)
        account = accounts.add("0x" + bytes(development.key).hex())
    else:
        account = accounts.load(choice)
        operator.check_account(account.address)
    return operator, account


def send(operator: Operator, account: Any, transaction: Transaction) -> TxReceipt:
    """Check ``transaction`` (a refusal is the registry's sentence), print it, sign and send it with ``account``."""
    operator.check_account(account.address)
    try:
        operator.simulate(transaction, account.address)
    except ValueError as error:  # brownie's middleware raises the node's error object: {"code", "message", "data"}
        answer = error.args[0] if error.args else None
        if not isinstance(answer, dict) or not isinstance(answer.get("data"), str):
            raise
        raise operator.refusal(answer["data"]) from None

    def sign_and_send(tx: Transaction) -> str:
        sent = account.transfer(tx.to, 0, data=tx.data, silent=True)
        return str(sent.txid)

    return operator.send(transaction, account.address, sign_and_send)


def deploy(operator: Operator, account: Any, container: Any, admin: str, admin_delay: int, *, force: bool) -> str:
    """Deploy brownie's build of CredentialRegistry (``container``) and record it; it must be anchor's artifact.

    The creation code goes out as a plain transaction: brownie's ``container.deploy`` on a live network saves
    the deployment to brownie's own database and fails there (brownie 1.22); anchor records it instead.
    """
    operator.check_account(account.address)
    transaction = operator.deployment(admin, admin_delay, force=force)
    built = container.deploy.encode_input(admin_delay, admin)
    if "0x" + built.removeprefix("0x").lower() != transaction.data.lower():
        raise DeploymentError(
            "brownie's build of CredentialRegistry is not the committed artifact (brownie-config.yaml must "
            "compile with `anchor build`'s settings): not deployed"
        )

    def sign_and_send(tx: Transaction) -> str:
        return str(account.transfer(None, 0, data=built, silent=True).txid)

    receipt = operator.send(transaction, account.address, sign_and_send)
    address = str(receipt["contractAddress"])
    path = operator.record_registry(address, receipt, account.address, admin, admin_delay)
    operator.echo(f"CredentialRegistry deployed at {address}, recorded in {path}")
    return address


def whole_number(text: str, what: str) -> int:
    """A script argument that must be a whole number (brownie passes every argument as text)."""
    if not text.isascii() or not text.isdigit():
        raise InvalidInputError(f"{what} must be a whole number, not {text!r}")
    return int(text)


@contextmanager
def reported_errors() -> Iterator[None]:
    """anchor's errors as one line and exit status 1, without a traceback."""
    try:
        yield
    except AnchorError as error:
        raise SystemExit(f"error: {error}") from None
