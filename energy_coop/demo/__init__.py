"""The demo co-op (SPEC section 2), seeded at the edge: this package owns its transactions and calls services."""
