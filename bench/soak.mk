## bench/soak.mk: the soak: qpulsed under a mixed load of
## long-lived, thread-churning and short-lived producers for a given time,
## then samples recorded / aggregated / dropped, peak RSS and CPU.
## Run from the source tree:  bench/soak.sh BUILDDIR [SECONDS]  (default 600)
EXTRA_DIST += bench/soak.sh
