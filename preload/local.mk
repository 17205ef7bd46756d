## preload/: (nothing yet)
