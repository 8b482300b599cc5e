"""Pure checks on parsed meter readings (SPEC section 4)."""
