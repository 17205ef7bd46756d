## tests/servers.mk: servers under `qpulse run` that drop privileges —
## nginx with workers as nobody, memcached -u nobody, and a program that
## changes user itself (tests/priv_prod.c) — against a root (system)
## qpulsed and one run by nobody.  They need root; nginx and memcached are
## optional packages (./quickstart installs them).  Preloading does not
## work in a sanitizer build, so these run only in ordinary builds.
check_PROGRAMS += tests/priv_prod
tests_priv_prod_SOURCES = tests/priv_prod.c
SERVER_TESTS = tests/privs-drop.sh tests/server-nginx.sh tests/server-memcached.sh
if !SANITIZERS
TESTS += $(SERVER_TESTS)
endif
EXTRA_DIST += $(SERVER_TESTS)
