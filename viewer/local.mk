## viewer/: (nothing yet)
