## tests/daemon.mk
