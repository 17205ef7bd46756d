## tests/tools.mk
