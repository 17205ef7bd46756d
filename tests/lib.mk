## tests/lib.mk
