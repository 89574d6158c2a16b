// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {CredentialCheck} from "../registry/CredentialRegistryTypes.sol";
import {ICredentialRegistry} from "../registry/ICredentialRegistry.sol";

/// @notice One credential's question to `ICredentialRegistry.credentialStatus`.
struct StatusQuery {
    uint256 batchId;
    uint256 index;
    bytes32 digest;
    bytes32[] proof;
}

/**
 * @title Credential status reader
 * @notice Asks a registry `credentialStatus` for many credentials in one `eth_call`, and is never deployed.
 * @dev A verifier sends this contract's creation code, followed by its ABI-encoded constructor arguments, as
 * the data of an `eth_call` without a `to` address (the "deployless" read of Multicall). The constructor asks
 * the registry with STATICCALLs (a view call) and returns the answers as the created code would be: the node
 * returns them as the call's result, and nothing is created. The answers are exactly the registry's own,
 * `abi.encode(CredentialCheck[])` in the order of `queries`; if the registry reverts for any query, the whole
 * call reverts (the verifier then asks each credential with its own `eth_call`).
 */
contract CredentialStatusReader {
    /**
     * @notice Returns (as its result data, not as code) `abi.encode(checks)`, `checks[i]` being
     * `registry.credentialStatus(queries[i].batchId, queries[i].index, queries[i].digest, queries[i].proof)`.
     * @param registry The registry asked.
     * @param queries The questions, one per credential.
     */
    constructor(ICredentialRegistry registry, StatusQuery[] memory queries) {
        CredentialCheck[] memory checks = new CredentialCheck[](queries.length);
        for (uint256 i = 0; i < queries.length; ++i) {
            StatusQuery memory query = queries[i];
            // slither-disable-next-line calls-loop
            checks[i] = registry.credentialStatus(query.batchId, query.index, query.digest, query.proof);
        }
        bytes memory answer = abi.encode(checks);
        // A constructor returns its contract's code: only assembly returns other data from it (the point here).
        // slither-disable-start assembly
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            return(add(answer, 32), mload(answer))
        }
        // slither-disable-end assembly
    }
}
