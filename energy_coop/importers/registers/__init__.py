"""Readers of the register CSV files (SPEC section 3): their shape, not their meaning."""
