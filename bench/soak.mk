## bench/soak.mk
