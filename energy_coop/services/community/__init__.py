"""Community wealth (SPEC 19): local suppliers and spend, LM3, anchor-institution agreements, patronage and
group purchases.

Empty until wave 2 lands here; the formulas (LM3 rounds, patronage splits) go in ``energy_coop.calc.community``.
"""
