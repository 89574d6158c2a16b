"""The ``anchor`` command line: one group, commands in the modules of this package (imported on use)."""

from __future__ import annotations

from anchor.cli.main import main

#: command name -> "module:attribute" under anchor.cli; a command's module is imported when it is used,
#: so `anchor verify` does not pay for web3 and the operator commands.
_COMMANDS = {
    "build": "build_commands:build",
    "provision-solc": "build_commands:provision_solc",
    "config": "config_commands:config",
    "node": "node_commands:node",
    "key": "key_commands:key",
    "did": "did_commands:did",
    "deploy": "governance_commands:deploy",
    "issuer": "governance_commands:issuer",
    "admin": "governance_commands:admin",
    "demo": "demo_commands:demo",
    "issue": "issue_commands:issue",
    "course": "course_commands:course",
    "deliver": "deliver_commands:deliver",
    "batch": "batch_commands:batch",
    "receipt": "batch_commands:receipt",
    "revoke": "batch_commands:revoke",
    "status": "status_commands:status",
    "verify": "verify_commands:verify",
    "present": "present_commands:present",
    "serve": "serve_commands:serve",
    "stack": "stack_commands:stack",
    "name-parts": "stack_commands:name_parts",
    "share": "share_commands:share",
}
for _name, _target in _COMMANDS.items():
    main.add_lazy(_name, f"anchor.cli.{_target}")

__all__ = ["main"]
