"""``python -m anchor``: the command line."""

from anchor.cli import main

main()
