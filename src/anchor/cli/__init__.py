"""The ``anchor`` command line: one group, commands in the modules of this package."""

from __future__ import annotations

from anchor.cli.batch_commands import batch, receipt, revoke
from anchor.cli.build_commands import build, provision_solc
from anchor.cli.config_commands import config
from anchor.cli.demo_commands import demo
from anchor.cli.governance_commands import admin, deploy, issuer
from anchor.cli.issue_commands import issue
from anchor.cli.key_commands import key
from anchor.cli.main import main
from anchor.cli.node_commands import node
from anchor.cli.serve_commands import serve
from anchor.cli.verify_commands import verify

for command in (build, provision_solc, config, node, key, deploy, issuer, admin, demo, verify, serve):
    main.add_command(command)
for command in (issue, batch, receipt, revoke):
    main.add_command(command)

__all__ = ["main"]
