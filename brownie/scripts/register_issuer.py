"""Register an issuer with its signer keys (admin only), with brownie.

    brownie run register_issuer main "Universität Heidelberg" DE did:web:uni-heidelberg.de 0x7099... \
        --network anchor-local

Arguments: name, ISO 3166-1 alpha-2 country code, identifier (DID or https URL), signer addresses
(comma-separated), and optionally the signing account (default: development account 0).
"""

from brownie import accounts, network, web3

from anchor.frameworks.brownie_support import connect, reported_errors, send


def main(name, country, uri, signers="", account="0"):
    with reported_errors():
        operator, signer = connect(web3, network.show_active(), accounts, account)
        keys = [key.strip() for key in signers.split(",") if key.strip()]
        receipt = send(operator, signer, operator.registration(name, country, uri, keys))
        print(f"issuer {operator.registered_issuer(receipt)} registered in tx {receipt['transactionHash'].to_0x_hex()}")
