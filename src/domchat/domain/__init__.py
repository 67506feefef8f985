"""The pure core: buildings, management periods, managers, conflicts, the desired chat,
typed actions and the planner.

Nothing here does I/O or reads the clock; it imports only domchat's leaves (`permissions`,
`errors`) and the standard library, so it can be tested, benchmarked and reasoned about
without a network or a database (`tests/test_layering.py`, the import-linter contracts).
"""
