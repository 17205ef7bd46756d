## tests/preload.mk
