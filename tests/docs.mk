## tests/docs.mk — what a newcomer meets first: the examples and a program
## of one's own built against the build tree run without LD_LIBRARY_PATH,
## the installed man pages name only documents that are installed, and every
## program's --help lists its options as its man page does.

AM_TESTS_ENVIRONMENT += QP_DOC_FILES='$(nobase_dist_doc_DATA)'; export QP_DOC_FILES;
TESTS += tests/build-tree.sh tests/man-pages.sh tests/options-help.sh
EXTRA_DIST += tests/build-tree.sh tests/man-pages.sh tests/options-help.sh
