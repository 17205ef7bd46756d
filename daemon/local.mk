## daemon/: (nothing yet)
