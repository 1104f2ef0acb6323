"""The `interop` command line: one module per concern, each registering its subcommands.

The top layer: each module parses its arguments and calls the layer that does the work (`mocks`,
`sibs`, `conformance`, `reports`). `app` builds the parser from the modules named in `COMMANDS`
and holds the top-level handler; `common` what they share; `messages` (validate, schemas,
example), `serving` (serve, sib), `check`, `demo` (demo, selftest), `report` (render, verify),
`wire` (convert) and `replay` are the subcommands. To add one, write a module with
`add_command(subparsers)` and add its name to `COMMANDS` in `app`.
"""

from __future__ import annotations

from .app import COMMANDS, main, parser

__all__ = ["COMMANDS", "main", "parser"]
