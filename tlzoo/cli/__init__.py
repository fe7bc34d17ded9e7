"""The ``tlzoo`` command line: one module per command group, assembled in :mod:`tlzoo.cli.main`."""
