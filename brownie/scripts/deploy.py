"""Deploy the registry with brownie (brownie's own build of contracts/registry) and record it for anchor.

    brownie run deploy --network anchor-local            # development account 0, on `anchor node start`'s chain
    brownie run deploy main operator 0xSAFE... 172800 --network polygon-amoy    # keystore account `operator`

Arguments (all optional): the signing account (a development account's index on a local chain, else the id of
a brownie keystore account), the admin (default: the signer), the admin transfer delay in seconds, "force"
to replace a recorded registry. The deployment is recorded only if its code is the committed artifact's,
in ANCHOR_HOME/deployments/<chain-id>.json, where the `anchor` CLI finds it.
"""

from brownie import CredentialRegistry, accounts, network, web3

from anchor.frameworks.brownie_support import connect, deploy, reported_errors, whole_number


def main(account="0", admin="", admin_delay="0", force=""):
    with reported_errors():
        operator, signer = connect(web3, network.show_active(), accounts, account)
        delay = whole_number(admin_delay, "the admin delay")
        deploy(operator, signer, CredentialRegistry, admin or signer.address, delay, force=force == "force")
