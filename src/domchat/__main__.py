"""`python -m domchat`: the same as the `domchat` command."""

from domchat.cli import main

main()
