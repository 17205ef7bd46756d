## examples/: (nothing yet)
