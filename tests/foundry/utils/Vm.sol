// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/**
 * @title Vm
 * @notice The forge cheatcodes these tests use, declared here instead of importing forge-std: npm has no official
 * forge-std, and the project installs nothing outside pip and npm. Signatures as in forge 1.x (`forge-std/Vm.sol`).
 */
interface Vm {
    function prank(address msgSender) external;
    function startPrank(address msgSender) external;
    function stopPrank() external;
    function warp(uint256 newTimestamp) external;
    function roll(uint256 newHeight) external;
    function getBlockTimestamp() external view returns (uint256 timestamp);
    function getBlockNumber() external view returns (uint256 height);
    function addr(uint256 privateKey) external pure returns (address keyAddr);
    function label(address account, string calldata newLabel) external;
    function assume(bool condition) external pure;
    function toString(uint256 value) external pure returns (string memory stringifiedValue);
    function toString(bytes calldata value) external pure returns (string memory stringifiedValue);
    function getCode(string calldata artifactPath) external view returns (bytes memory creationBytecode);
    function envOr(string calldata name, bytes calldata defaultValue) external view returns (bytes memory value);
    function load(address target, bytes32 slot) external view returns (bytes32 data);

    function expectRevert(bytes calldata revertData) external;
    function expectRevert(bytes4 revertData) external;
    function expectEmit(address emitter) external;

    function assertTrue(bool condition, string calldata error) external pure;
    function assertFalse(bool condition, string calldata error) external pure;
    function assertEq(bool left, bool right, string calldata error) external pure;
    function assertEq(uint256 left, uint256 right, string calldata error) external pure;
    function assertEq(address left, address right, string calldata error) external pure;
    function assertEq(bytes32 left, bytes32 right, string calldata error) external pure;
    function assertEq(string calldata left, string calldata right, string calldata error) external pure;
    function assertEq(bytes calldata left, bytes calldata right, string calldata error) external pure;
}

/// @dev The address forge answers cheatcodes at: `address(uint160(uint256(keccak256("hevm cheat code"))))`.
Vm constant VM = Vm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D);
