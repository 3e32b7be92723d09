"""Detection: match content events against live intel and rules, producing deduplicated hits."""
