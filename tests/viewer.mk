## tests/viewer.mk
