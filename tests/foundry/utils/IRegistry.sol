// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ICredentialRegistry} from "../../../contracts/registry/ICredentialRegistry.sol";

/// @notice The registry as the tests see it: its own interface plus what it inherits from OpenZeppelin.
interface IRegistry is ICredentialRegistry {
    function paused() external view returns (bool);
}
