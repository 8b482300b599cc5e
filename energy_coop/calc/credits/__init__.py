"""Pure arithmetic of credits (SPEC sections 3, 5, 6): holdings, rates, tariffs, the allocation and the ledger's hash chain."""
