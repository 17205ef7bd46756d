## tests/system.mk: production hosts — one daemon per namespace, system
## mode with real users, state across restarts, shrinking segments.

SYSTEM_TESTS = tests/system-lock.sh tests/system-users.sh tests/system-state.sh
TESTS += $(SYSTEM_TESTS)
EXTRA_DIST += $(SYSTEM_TESTS)
