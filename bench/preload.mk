## bench/preload.mk
