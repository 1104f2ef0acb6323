"""`python -m interop`: the `interop` command line."""

from __future__ import annotations

from interop import main

raise SystemExit(main())
