## bench/daemon.mk
