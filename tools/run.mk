## tools/run.mk: qpulse run (preload issue)
