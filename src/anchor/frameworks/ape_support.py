"""ape's side of the operator scripts in ``scripts/`` (``ape run NAME --network ... --account ...``).

ape brings its accounts (keyfiles, hardware wallets, multisig plugins), its network names and its connection;
:mod:`anchor.frameworks.operations` builds every transaction on anchor's library and prints it, and the account
signs and sends it here. A revert that ape catches becomes the registry's sentence.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from ape import chain
from ape.api import AccountAPI, TestAccountAPI
from ape.exceptions import ContractLogicError, CustomError
from web3 import Web3
from web3.types import TxReceipt

from anchor.chain.contract_errors import DecodedError
from anchor.chain.registry import explain
from anchor.errors import AnchorError, ChainError, ContractRevertError
from anchor.frameworks.operations import Operator, Transaction


def connect(account: AccountAPI) -> Operator:
    """The registry on ape's connected network, for ``account`` (a development account is refused on Polygon)."""
    provider = chain.provider
    w3 = getattr(provider, "web3", None)
    if not isinstance(w3, Web3):
        raise ChainError(f"ape's provider {provider.name!r} has no web3 connection to read the registry through")
    operator = Operator(w3, provider.network_choice, echo=click.echo)
    operator.check_account(account.address, development=isinstance(account, TestAccountAPI))
    return operator


def send(operator: Operator, account: AccountAPI, transaction: Transaction) -> TxReceipt:
    """Print ``transaction``, sign and send it with ``account`` (ape prompts for a keyfile's passphrase)."""
    operator.check_account(account.address, development=isinstance(account, TestAccountAPI))

    def sign_and_send(tx: Transaction) -> str:
        ecosystem = chain.provider.network.ecosystem
        unsigned = ecosystem.create_transaction(receiver=tx.to, data=tx.data, sender=account.address)
        try:
            receipt = account.call(unsigned)
        except CustomError as error:  # ape knew the contract's ABI and decoded the error itself
            decoded = DecodedError(error.abi.name, dict(error.inputs))
            raise ContractRevertError(explain(decoded), decoded.name, decoded.args) from None
        except ContractLogicError as error:  # the raw revert data
            raise operator.refusal(str(error.revert_message or "")) from None
        return str(receipt.txn_hash)

    return operator.send(transaction, account.address, sign_and_send)


@contextmanager
def reported_errors() -> Iterator[None]:
    """Show anchor's errors as one clean line (ape prints a ClickException without a traceback)."""
    try:
        yield
    except AnchorError as error:
        raise click.ClickException(str(error)) from None
