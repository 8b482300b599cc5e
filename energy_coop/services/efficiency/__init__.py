"""The efficiency programme (SPEC section 8): premises, audits, measures, incentives, savings."""
