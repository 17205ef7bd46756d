## tests/reliability.mk
