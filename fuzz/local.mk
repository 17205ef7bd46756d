## fuzz/: libFuzzer targets for every parser of untrusted input (segment
## reader, budget files, snapshot JSON and qptop's rows of it, the daemon's
## requests, the --state file, the Prometheus pages and their Accept
## header).  They are built with clang -fsanitize=fuzzer by fuzz/build.sh
## and run, bounded, by scripts/ci-extra.sh (fuzz/run.sh); not by `make`,
## which may use gcc.
## fuzz/corpus/<target>/ holds the seeds and every input that once crashed.
EXTRA_DIST += fuzz/build.sh fuzz/run.sh fuzz/fuzz_reader.c fuzz/fuzz_budget.c \
	fuzz/fuzz_snapshot.c fuzz/fuzz_request.c fuzz/fuzz_viewer.c fuzz/fuzz_state.c \
	fuzz/fuzz_prom.c fuzz/corpus
