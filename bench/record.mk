## bench/record.mk
