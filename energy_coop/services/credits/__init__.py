"""Credits (SPEC sections 5 and 6): the monthly allocation, the append-only ledger, statements and exports."""
