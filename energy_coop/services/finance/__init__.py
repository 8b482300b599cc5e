"""Money leaving the co-op through the credit union (SPEC 16 and 17): payout accounts, four-eyes payout runs,
bank files (sepaxml, NACHA) and retrofit loans repaid from savings.

Empty until wave 2 lands here. Every movement is a ledger entry through :mod:`energy_coop.services.credits.ledger`
(never a second table of balances); the arithmetic (amortisation, pay-as-you-save schedules) goes in a new
``energy_coop.calc.finance`` package and the bank-file writers in ``energy_coop.importers`` /
an exporters module beside them.
"""
