"""The people who sign in (SPEC section 11): users, passwords, API tokens, browser sessions, sign-in limits."""
