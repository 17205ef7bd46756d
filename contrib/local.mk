## contrib/: (nothing yet)
