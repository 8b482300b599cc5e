"""Generation forecasts (SPEC section 7): expected production stored, compared with the meters."""
