"""The conformance suite run against a SIB, and the `interop` command line."""
