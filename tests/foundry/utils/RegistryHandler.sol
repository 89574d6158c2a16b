// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {ICredentialRegistry} from "../../../contracts/registry/ICredentialRegistry.sol";
import {Batch, Signer} from "../../../contracts/registry/CredentialRegistryTypes.sol";
import {IRegistry} from "./IRegistry.sol";
import {TestMerkle} from "./TestMerkle.sol";
import {VM} from "./Vm.sol";

/**
 * @title RegistryHandler
 * @notice The actions of the invariant campaign, each with a model of the registry that predicts its outcome.
 * @dev forge calls these functions in random order with random arguments (`runs` sequences of `depth` calls).
 * Each action picks its actors from small pools (the admin, twelve keys, a stranger; six issuer identifiers; 24
 * trees), so that duplicates, foreign keys and repeated revocations are common, and predicts from the model alone
 * either success or the exact revert data (custom error and arguments). The registry's answer must be that
 * prediction; otherwise the action records a violation, which the invariants report. On success the model is
 * updated from its own prediction, never from what the registry says.
 */
contract RegistryHandler {
    struct ModelIssuer {
        bytes32 uriHash;
        uint64 registeredAt;
        uint64 deactivatedAt;
        uint32 signerCount;
    }

    struct ModelSigner {
        uint64 issuerId;
        uint64 addedAt;
        uint64 removedAt;
        uint64 removedAtBlock;
    }

    struct ModelBatch {
        uint256 seed; // the test tree: TestMerkle.build(seed, leafCount(seed))
        bytes32 root;
        uint64 issuerId;
        uint64 size;
        uint64 anchoredAt;
        uint64 anchoredAtBlock;
        address signer;
        uint64 revokedAt;
        uint8 revocationReason;
    }

    struct Revocation {
        uint256 batchId;
        uint256 index;
    }

    uint256 public constant KEY_COUNT = 12;
    uint256 public constant URI_COUNT = 6;
    uint256 public constant TREE_COUNT = 24;
    uint256 public constant MAX_LEAVES = 6;
    address public constant STRANGER = address(0x5712A9);
    bytes32 private constant ADMIN_ROLE = 0x00;

    IRegistry public immutable registry;
    address public immutable admin;
    bool private _bootstrapped;
    /// @dev The key pool, computed once (`VM.addr` is an elliptic-curve multiplication).
    address[KEY_COUNT] private _keys;

    bool public paused;
    uint256 public issuerCount;
    uint256 public batchCount;
    mapping(uint256 issuerId => ModelIssuer) internal _issuers;
    mapping(uint256 uriNumber => uint256 issuerId) public issuerOfUri;
    mapping(address key => ModelSigner) internal _signers;
    mapping(uint256 batchId => ModelBatch) internal _batches;
    mapping(uint256 issuerId => mapping(bytes32 root => uint256 batchId)) public batchOfRoot;
    mapping(uint256 batchId => mapping(uint256 index => bool)) public revoked;
    Revocation[] internal _revocations;

    /// @notice The first disagreement between the registry and the model ("" while there is none).
    string public violation;
    /// @notice Revocations (of credentials or batches) the registry accepted from a key of another issuer.
    uint256 public foreignRevocations;

    constructor(IRegistry registry_, address admin_) {
        registry = registry_;
        admin = admin_;
        for (uint256 i = 0; i < KEY_COUNT; ++i) {
            _keys[i] = VM.addr(0xA11CE + i);
        }
    }

    /// @notice The state every sequence starts from: two issuers with two keys each, three batches (one larger
    /// than its test tree), so that short sequences reach anchoring and revocation. Once, from the test's setUp.
    function bootstrap() external {
        require(!_bootstrapped, "RegistryHandler: bootstrapped already");
        _bootstrapped = true;
        for (uint256 n = 0; n < 2; ++n) {
            address[] memory signers = new address[](2);
            (signers[0], signers[1]) = (key(2 * n), key(2 * n + 1));
            VM.prank(admin);
            uint256 issuerId = registry.registerIssuer("An Issuer", "DE", _uri(n), signers);
            issuerCount = issuerId;
            issuerOfUri[n] = issuerId;
            _issuers[issuerId] = ModelIssuer(keccak256(bytes(_uri(n))), uint64(block.timestamp), 0, 0);
            _addSignerToModel(issuerId, signers[0]);
            _addSignerToModel(issuerId, signers[1]);
        }
        uint256[3] memory seeds = [uint256(1), 2, 3];
        uint256[3] memory extra = [uint256(0), 300, 0];
        for (uint256 i = 0; i < 3; ++i) {
            address signer = key(i == 2 ? 2 : 0);
            uint256 issuerId = _signers[signer].issuerId;
            bytes32 root = TestMerkle.root(seeds[i], leafCountOf(seeds[i]));
            uint256 size = leafCountOf(seeds[i]) + extra[i];
            VM.prank(signer);
            uint256 batchId = registry.anchor(root, size);
            batchCount = batchId;
            batchOfRoot[issuerId][root] = batchId;
            _batches[batchId] = ModelBatch(
                seeds[i],
                root,
                uint64(issuerId),
                uint64(size),
                uint64(block.timestamp),
                uint64(block.number),
                signer,
                0,
                0
            );
        }
    }

    // ------------------------------------------------------------------ actions

    function registerIssuer(uint256 uriSeed, uint256 countrySeed, uint256 signerSeed, uint256 callerSeed) external {
        address caller = _callerOrAdmin(callerSeed);
        uint256 uriNumber = uriSeed % 13 == 0 ? URI_COUNT : (uriSeed >> 8) % URI_COUNT; // URI_COUNT: empty
        string memory uri = uriNumber == URI_COUNT ? "" : _uri(uriNumber);
        string memory name = uriSeed % 17 == 3 ? "" : "An Issuer";
        bytes2 country = _country(countrySeed);
        address[] memory signers = _signerList(signerSeed);
        uint256 newId = issuerCount + 1;

        bytes memory expected;
        if (caller != admin) {
            expected = _unauthorized(caller);
        } else if (bytes(name).length == 0 || bytes(uri).length == 0) {
            expected = abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryInvalidIssuerMetadata.selector);
        } else if (!_validCountry(country)) {
            expected = abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryInvalidCountry.selector, country);
        } else if (issuerOfUri[uriNumber] != 0) {
            expected = abi.encodeWithSelector(
                ICredentialRegistry.CredentialRegistryDuplicateIssuerUri.selector, uri, issuerOfUri[uriNumber]
            );
        } else {
            expected = _signerListError(signers, newId);
        }

        VM.prank(caller);
        try registry.registerIssuer(name, country, uri, signers) returns (uint256 id) {
            if (_succeeded(expected, "registerIssuer") && _check(id == newId, "registerIssuer: issuer id")) {
                issuerCount = newId;
                issuerOfUri[uriNumber] = newId;
                _issuers[newId] = ModelIssuer(keccak256(bytes(uri)), uint64(block.timestamp), 0, 0);
                for (uint256 i = 0; i < signers.length; ++i) {
                    _addSignerToModel(newId, signers[i]);
                }
            }
        } catch (bytes memory reason) {
            _failed(expected, reason, "registerIssuer");
        }
    }

    function addSigner(uint256 issuerSeed, uint256 keySeed, uint256 callerSeed) external {
        address caller = _callerOrAdmin(callerSeed);
        uint256 issuerId = _issuerChoice(issuerSeed);
        address signer = keySeed % 13 == 0 ? address(0) : key(keySeed);

        bytes memory expected;
        if (caller != admin) {
            expected = _unauthorized(caller);
        } else if (issuerId == 0 || issuerId > issuerCount) {
            expected = abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryUnknownIssuer.selector, issuerId);
        } else {
            address[] memory list = new address[](1);
            list[0] = signer;
            expected = _signerListError(list, issuerId);
        }

        VM.prank(caller);
        try registry.addSigner(issuerId, signer) {
            if (_succeeded(expected, "addSigner")) _addSignerToModel(issuerId, signer);
        } catch (bytes memory reason) {
            _failed(expected, reason, "addSigner");
        }
    }

    function removeSigner(uint256 keySeed, uint256 callerSeed) external {
        address signer = key(keySeed);
        address caller = callerSeed % 3 == 0 ? admin : _keyOrStranger(callerSeed / 3);
        ModelSigner storage record = _signers[signer];

        bytes memory expected;
        if (record.issuerId == 0 || record.removedAt != 0) {
            expected = abi.encodeWithSelector(ICredentialRegistry.CredentialRegistrySignerNotActive.selector, signer);
        } else if (caller != admin) {
            expected = _ownIssuerError(caller, record.issuerId);
        }

        VM.prank(caller);
        try registry.removeSigner(signer) {
            if (_succeeded(expected, "removeSigner")) {
                record.removedAt = uint64(block.timestamp);
                record.removedAtBlock = uint64(block.number);
                --_issuers[record.issuerId].signerCount;
            }
        } catch (bytes memory reason) {
            _failed(expected, reason, "removeSigner");
        }
    }

    function setIssuerActive(uint256 issuerSeed, uint256 modeSeed, uint256 callerSeed) external {
        address caller = _callerOrAdmin(callerSeed);
        uint256 issuerId = _issuerChoice(issuerSeed);
        bool active = modeSeed % 3 != 0; // deactivate one time in three: issuers are active most of the time
        ModelIssuer storage model = _issuers[issuerId];

        bytes memory expected;
        if (caller != admin) {
            expected = _unauthorized(caller);
        } else if (issuerId == 0 || issuerId > issuerCount) {
            expected = abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryUnknownIssuer.selector, issuerId);
        } else if (active && model.deactivatedAt == 0) {
            expected = abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryIssuerActive.selector, issuerId);
        } else if (!active && model.deactivatedAt != 0) {
            expected = abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryIssuerInactive.selector, issuerId);
        }

        VM.prank(caller);
        if (active) {
            try registry.reactivateIssuer(issuerId) {
                if (_succeeded(expected, "reactivateIssuer")) model.deactivatedAt = 0;
            } catch (bytes memory reason) {
                _failed(expected, reason, "reactivateIssuer");
            }
        } else {
            try registry.deactivateIssuer(issuerId) {
                if (_succeeded(expected, "deactivateIssuer")) model.deactivatedAt = uint64(block.timestamp);
            } catch (bytes memory reason) {
                _failed(expected, reason, "deactivateIssuer");
            }
        }
    }

    function setPaused(uint256 modeSeed, uint256 callerSeed) external {
        address caller = _callerOrAdmin(callerSeed);
        bool pause = modeSeed % 4 == 0; // pause one time in four: the registry runs most of the time
        bytes memory expected;
        if (caller != admin) {
            expected = _unauthorized(caller);
        } else if (pause && paused) {
            expected = abi.encodeWithSelector(Pausable.EnforcedPause.selector);
        } else if (!pause && !paused) {
            expected = abi.encodeWithSelector(Pausable.ExpectedPause.selector);
        }

        VM.prank(caller);
        if (pause) {
            try registry.pause() {
                if (_succeeded(expected, "pause")) paused = true;
            } catch (bytes memory reason) {
                _failed(expected, reason, "pause");
            }
        } else {
            try registry.unpause() {
                if (_succeeded(expected, "unpause")) paused = false;
            } catch (bytes memory reason) {
                _failed(expected, reason, "unpause");
            }
        }
    }

    function anchor(uint256 keySeed, uint256 treeSeed, uint256 sizeSeed) external {
        address caller = _activeKeyOr(keySeed, 0);
        uint256 seed = treeSeed % TREE_COUNT;
        uint256 leafCount = leafCountOf(seed);
        bytes32 root = treeSeed % 29 == 0 ? bytes32(0) : TestMerkle.root(seed, leafCount);
        // Mostly the tree's own size; sometimes more credentials than the test tree holds (up to three bitmap
        // words), sometimes an invalid size.
        uint256 size = leafCount;
        if (sizeSeed % 4 == 1) size = leafCount + (sizeSeed >> 8) % 700;
        if (sizeSeed % 31 == 2) size = 0;
        if (sizeSeed % 31 == 3) size = uint256(type(uint64).max) + 1 + (sizeSeed >> 8) % 3;
        uint256 issuerId = _signers[caller].issuerId;

        bytes memory expected;
        if (paused) {
            expected = abi.encodeWithSelector(Pausable.EnforcedPause.selector);
        } else if (issuerId == 0 || _signers[caller].removedAt != 0) {
            expected = abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryNotSigner.selector, caller);
        } else if (_issuers[issuerId].deactivatedAt != 0) {
            expected = abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryIssuerInactive.selector, issuerId);
        } else if (root == bytes32(0)) {
            expected = abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryZeroRoot.selector);
        } else if (size == 0 || size > type(uint64).max) {
            expected = abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryInvalidSize.selector, size);
        } else if (batchOfRoot[issuerId][root] != 0) {
            expected = abi.encodeWithSelector(
                ICredentialRegistry.CredentialRegistryDuplicateRoot.selector,
                issuerId,
                root,
                batchOfRoot[issuerId][root]
            );
        }

        VM.prank(caller);
        try registry.anchor(root, size) returns (uint256 batchId) {
            if (_succeeded(expected, "anchor") && _check(batchId == batchCount + 1, "anchor: batch id")) {
                batchCount = batchId;
                batchOfRoot[issuerId][root] = batchId;
                _batches[batchId] = ModelBatch({
                    seed: seed,
                    root: root,
                    issuerId: uint64(issuerId),
                    size: uint64(size),
                    anchoredAt: uint64(block.timestamp),
                    anchoredAtBlock: uint64(block.number),
                    signer: caller,
                    revokedAt: 0,
                    revocationReason: 0
                });
            }
        } catch (bytes memory reason) {
            _failed(expected, reason, "anchor");
        }
    }

    function revokeCredentials(uint256 keySeed, uint256 batchSeed, uint256 indexSeed, uint8 reason) external {
        uint256 batchId = _batchChoice(batchSeed);
        address caller = _activeKeyOr(keySeed, _batches[batchId].issuerId);
        uint256[] memory list = _indexList(batchId, indexSeed);
        if (indexSeed % 19 == 7) reason = 0;
        else if (reason == 0) reason = 1;

        bytes memory expected = _ownBatchError(caller, batchId);
        if (expected.length == 0) {
            ModelBatch storage batch = _batches[batchId];
            if (reason == 0) {
                expected = abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryInvalidReason.selector, reason);
            } else if (list.length == 0) {
                expected = abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryNoIndices.selector);
            } else if (batch.revokedAt != 0) {
                expected =
                    abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryBatchAlreadyRevoked.selector, batchId);
            } else {
                expected = _indexListError(batchId, batch.size, list);
            }
        }

        VM.prank(caller);
        try registry.revokeCredentials(batchId, list, reason) {
            _noteRevocationBy(caller, batchId);
            if (_succeeded(expected, "revokeCredentials")) {
                for (uint256 i = 0; i < list.length; ++i) {
                    revoked[batchId][list[i]] = true;
                    _revocations.push(Revocation(batchId, list[i]));
                }
            }
        } catch (bytes memory data) {
            _failed(expected, data, "revokeCredentials");
        }
    }

    function revokeBatch(uint256 keySeed, uint256 batchSeed, uint8 reason) external {
        uint256 batchId = _batchChoice(batchSeed);
        address caller = _activeKeyOr(keySeed, _batches[batchId].issuerId);
        if (batchSeed % 11 == 5) reason = 0;

        bytes memory expected = _ownBatchError(caller, batchId);
        if (expected.length == 0) {
            if (reason == 0) {
                expected = abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryInvalidReason.selector, reason);
            } else if (_batches[batchId].revokedAt != 0) {
                expected =
                    abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryBatchAlreadyRevoked.selector, batchId);
            }
        }

        VM.prank(caller);
        try registry.revokeBatch(batchId, reason) {
            _noteRevocationBy(caller, batchId);
            if (_succeeded(expected, "revokeBatch")) {
                _batches[batchId].revokedAt = uint64(block.timestamp);
                _batches[batchId].revocationReason = reason;
            }
        } catch (bytes memory data) {
            _failed(expected, data, "revokeBatch");
        }
    }

    /// @notice Time passes: up to about a day and some blocks, so that recorded times and heights differ.
    function wait(uint32 seconds_, uint16 blocks) external {
        VM.warp(block.timestamp + 1 + seconds_ % 86_400);
        VM.roll(block.number + 1 + blocks % 500);
    }

    // ------------------------------------------------------------------ model, read by the invariants

    function leafCountOf(uint256 seed) public pure returns (uint256) {
        return 1 + seed % MAX_LEAVES;
    }

    function issuerModel(uint256 issuerId) external view returns (ModelIssuer memory) {
        return _issuers[issuerId];
    }

    function signerModel(address account) external view returns (ModelSigner memory) {
        return _signers[account];
    }

    function batchModel(uint256 batchId) external view returns (ModelBatch memory) {
        return _batches[batchId];
    }

    function revocationCount() external view returns (uint256) {
        return _revocations.length;
    }

    function revocationAt(uint256 i) external view returns (Revocation memory) {
        return _revocations[i];
    }

    function key(uint256 n) public view returns (address) {
        return _keys[n % KEY_COUNT];
    }

    function uriOf(uint256 n) external pure returns (string memory) {
        return _uri(n);
    }

    // ------------------------------------------------------------------ predictions

    /// @dev The error `_activeIssuerOf` + the issuer comparison give for `caller` acting on `issuerId`'s behalf.
    function _ownIssuerError(address caller, uint256 issuerId) private view returns (bytes memory) {
        ModelSigner storage callerRecord = _signers[caller];
        if (callerRecord.issuerId == 0 || callerRecord.removedAt != 0) {
            return abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryNotSigner.selector, caller);
        }
        if (callerRecord.issuerId != issuerId) {
            return abi.encodeWithSelector(
                ICredentialRegistry.CredentialRegistryWrongIssuer.selector, caller, callerRecord.issuerId, issuerId
            );
        }
        return "";
    }

    function _ownBatchError(address caller, uint256 batchId) private view returns (bytes memory) {
        if (batchId == 0 || batchId > batchCount) {
            return abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryUnknownBatch.selector, batchId);
        }
        return _ownIssuerError(caller, _batches[batchId].issuerId);
    }

    /// @dev The first refusal of adding `signers` in order to issuer `issuerId` (repeats in the list included).
    function _signerListError(address[] memory signers, uint256 issuerId) private view returns (bytes memory) {
        for (uint256 i = 0; i < signers.length; ++i) {
            if (signers[i] == address(0)) {
                return abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryInvalidSigner.selector, address(0));
            }
            uint256 holder = _signers[signers[i]].issuerId;
            for (uint256 j = 0; j < i; ++j) {
                if (signers[j] == signers[i]) holder = issuerId;
            }
            if (holder != 0) {
                return
                    abi.encodeWithSelector(
                        ICredentialRegistry.CredentialRegistrySignerExists.selector, signers[i], holder
                    );
            }
        }
        return "";
    }

    /// @dev The first refusal of revoking `list` in batch `batchId` of `size` credentials.
    function _indexListError(uint256 batchId, uint256 size, uint256[] memory list) private view returns (bytes memory) {
        for (uint256 i = 0; i < list.length; ++i) {
            if (list[i] >= size) {
                return abi.encodeWithSelector(
                    ICredentialRegistry.CredentialRegistryIndexOutOfRange.selector, batchId, list[i], size
                );
            }
            bool repeated = revoked[batchId][list[i]];
            for (uint256 j = 0; j < i; ++j) {
                if (list[j] == list[i]) repeated = true;
            }
            if (repeated) {
                return
                    abi.encodeWithSelector(
                        ICredentialRegistry.CredentialRegistryAlreadyRevoked.selector, batchId, list[i]
                    );
            }
        }
        return "";
    }

    function _unauthorized(address caller) private pure returns (bytes memory) {
        return abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, caller, ADMIN_ROLE);
    }

    // ------------------------------------------------------------------ outcomes

    function _succeeded(bytes memory expected, string memory action) private returns (bool) {
        if (expected.length != 0) {
            _violate(string.concat(action, " succeeded; the model expected revert ", VM.toString(expected)));
            return false;
        }
        return true;
    }

    function _failed(bytes memory expected, bytes memory actual, string memory action) private {
        if (keccak256(actual) != keccak256(expected)) {
            _violate(
                string.concat(
                    action, " reverted with ", VM.toString(actual), "; the model expected ", VM.toString(expected)
                )
            );
        }
    }

    function _check(bool condition, string memory what) private returns (bool) {
        if (!condition) _violate(what);
        return condition;
    }

    function _violate(string memory what) private {
        if (bytes(violation).length == 0) violation = what;
    }

    /// @dev Independent of the model: the registry accepted a revocation; was the caller an active key of the
    /// batch's issuer, as the registry itself records them?
    function _noteRevocationBy(address caller, uint256 batchId) private {
        Signer memory record = registry.getSigner(caller);
        Batch memory batch = registry.getBatch(batchId);
        if (record.issuerId != batch.issuerId || record.removedAt != 0) ++foreignRevocations;
    }

    function _addSignerToModel(uint256 issuerId, address signer) private {
        _signers[signer] = ModelSigner(uint64(issuerId), uint64(block.timestamp), 0, 0);
        ++_issuers[issuerId].signerCount;
    }

    // ------------------------------------------------------------------ choosing actors and arguments

    function _callerOrAdmin(uint256 seed) private view returns (address) {
        return seed % 8 == 0 ? _keyOrStranger(seed >> 3) : admin;
    }

    function _keyOrStranger(uint256 seed) private view returns (address) {
        return seed % (KEY_COUNT + 1) == KEY_COUNT ? STRANGER : key(seed);
    }

    /// @dev Three times in four an active key (of issuer `issuerId` when it is not 0), if there is one; else
    /// any key or the stranger.
    function _activeKeyOr(uint256 seed, uint256 issuerId) private view returns (address) {
        if (seed % 4 != 0) {
            for (uint256 i = 0; i < KEY_COUNT; ++i) {
                ModelSigner storage record = _signers[key((seed >> 2) + i)];
                if (record.issuerId != 0 && record.removedAt == 0 && (issuerId == 0 || record.issuerId == issuerId)) {
                    return key((seed >> 2) + i);
                }
            }
        }
        return _keyOrStranger(seed >> 2);
    }

    /// @dev Seven times in eight a registered issuer (if any); else 0 or the next id, which are unknown.
    function _issuerChoice(uint256 seed) private view returns (uint256) {
        if (issuerCount == 0 || seed % 8 == 0) return (seed >> 3) % 2 == 0 ? 0 : issuerCount + 1;
        return 1 + (seed >> 3) % issuerCount;
    }

    /// @dev Seven times in eight an anchored batch (if any); else 0 or the next id, which are unknown.
    function _batchChoice(uint256 seed) private view returns (uint256) {
        if (batchCount == 0 || seed % 8 == 0) return (seed >> 3) % 2 == 0 ? 0 : batchCount + 1;
        return 1 + (seed >> 3) % batchCount;
    }

    function _uri(uint256 n) private pure returns (string memory) {
        return string(abi.encodePacked("did:web:issuer-", bytes1(uint8(0x30 + n % 10)), ".example"));
    }

    function _country(uint256 seed) private pure returns (bytes2) {
        bytes2[8] memory codes = [bytes2("DE"), "FR", "PL", "AZ", "ZA", "de", "D@", "[E"];
        return codes[seed % 10 < 9 ? seed % 5 : 5 + (seed >> 8) % 3];
    }

    function _validCountry(bytes2 c) private pure returns (bool) {
        return c[0] >= 0x41 && c[0] <= 0x5a && c[1] >= 0x41 && c[1] <= 0x5a;
    }

    function _signerList(uint256 seed) private view returns (address[] memory list) {
        list = new address[](seed % 3);
        for (uint256 i = 0; i < list.length; ++i) {
            list[i] = (seed >> (8 + 8 * i)) % 23 == 0 ? address(0) : key(seed >> (16 + 8 * i));
        }
    }

    /// @dev One to four distinct indices inside the batch (a step of 97 crosses bitmap words in large batches);
    /// one list in eight ends past the batch, one in eight repeats its first index, one in 23 is empty.
    function _indexList(uint256 batchId, uint256 seed) private view returns (uint256[] memory list) {
        uint256 size = _batches[batchId].size;
        if (size == 0) size = 1;
        uint256 length = seed % 23 == 9 ? 0 : 1 + (seed >> 8) % 4;
        if (length > size) length = size;
        list = new uint256[](length);
        uint256 start = (seed >> 16) % size;
        uint256 step = size > 256 ? 97 : 1;
        for (uint256 i = 0; i < length; ++i) {
            list[i] = (start + i * step) % size;
        }
        if (length > 0 && (seed >> 80) % 8 == 0) list[length - 1] = size + (seed >> 88) % 3;
        if (length > 1 && (seed >> 96) % 8 == 1) list[length - 1] = list[0];
    }
}
