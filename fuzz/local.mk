## fuzz/: (nothing yet)
