"""Pure forecasting physics (SPEC section 7): the pvlib model chain and the weather it needs."""
