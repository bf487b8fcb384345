"""Providers: pure translation between our types and each wire protocol. Only `transport` does I/O."""
