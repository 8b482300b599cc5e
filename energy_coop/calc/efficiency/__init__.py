"""Pure arithmetic of the efficiency programme (SPEC section 8): measured savings and incentives."""
