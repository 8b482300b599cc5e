"""The registers (SPEC section 3): members, assets, shares and rates, loaded and edited."""
