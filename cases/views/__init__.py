"""Triage pages: the queue (`queue`), one case (`case`), and lead review (`lead`)."""
