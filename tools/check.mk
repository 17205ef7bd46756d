## tools/check.mk: qpulse check/reset (budgets issue)
