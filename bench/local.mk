## bench/: benchmark programs (not run by make check; see bench/README.md).
## Each part adds its own in its fragment.
EXTRA_DIST += bench/bench.h bench/bench-lib.sh
include $(srcdir)/bench/record.mk
include $(srcdir)/bench/daemon.mk
include $(srcdir)/bench/preload.mk
include $(srcdir)/bench/soak.mk
