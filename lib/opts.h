/*
 * opts.h — the one option parser of every qpulse program (qpulsed, qptop,
 * qpulse check/reset/run/trace).
 *
 * A program declares its options once, as a table of struct qp_opt; the
 * table gives getopt_long its long and short forms and generates --help,
 * usage line included, so the help always lists every option and the usage
 * line cannot drift from the table.  Errors use one wording:
 *   PROG: unknown option 'X'
 *   PROG: option 'X' needs a value
 *   PROG: --ns: 'X' is not a namespace (1-48 characters of A-Z a-z 0-9 _ -)
 */
#ifndef QPULSE_OPTS_H
#define QPULSE_OPTS_H

#include <stddef.h>
#include <stdio.h>

#define QP_OPT_LONG 256   /* keys from here on have no short form */
#define QP_OPT_BAD '?'    /* qp_opts_next: a bad option, already reported */

struct qp_opt {
    const char *name;   /* long name, without "--" */
    int key;            /* short letter, or QP_OPT_LONG + n for a long-only option */
    const char *arg;    /* the value's name in --help; NULL: takes none */
    const char *def;    /* the default, shown as [def] in --help; NULL: none */
    const char *help;   /* the text; '\n' starts a continuation line */
};

struct qp_prog {
    const char *name;       /* prefixes every message: "qpulse check" */
    const char *operands;   /* after the options in the usage line: "[--] CMD [ARGS...]",
                             * or NULL for none */
    const char *about;      /* a paragraph after the usage line, or NULL */
    const char *footer;     /* printed after the options, or NULL */
    const struct qp_opt *opts;
    size_t nopts;
    int stop_at_arg;        /* stop at the first non-option (a command to run) */
};

/* The entries every program shares, worded once. */
#define QP_OPT_NS(key) { "ns", (key), "NAME", "$QPULSE_NS or default", "namespace" }
#define QP_OPT_HELP { "help", 'h', NULL, NULL, "show this help" }
#define QP_OPT_VERSION(key) { "version", (key), NULL, NULL, "show the version" }

#define QP_PROG_OPTS(table) (table), (sizeof(table) / sizeof((table)[0]))

/* The next option of argv: its key (optarg holds its value), -1 when the
 * options end (optind is the first argument), or QP_OPT_BAD after writing
 * "PROG: ..." to stderr.  The first call starts at argv[1]. */
int qp_opts_next(const struct qp_prog *p, int argc, char **argv);

/* The usage line: name, every option but --help and --version ("[-q]",
 * "[--ns NAME]"), then the operands; wrapped before column 80, a wrapped
 * line starting under the first option.  col is the column name starts
 * in.  A man page's SYNOPSIS says the same. */
void qp_opts_usage(const struct qp_prog *p, const char *name, int col, FILE *f);

/* Writes s, each '\n' followed by indent spaces (a text that goes on under
 * a column). */
void qp_opts_put_indented(FILE *f, const char *s, int indent);

/* The generated help: "Usage: " and the usage line, about, every option
 * with its default, footer. */
void qp_opts_help(const struct qp_prog *p, FILE *f);

/* "Try 'PROG --help'." on stderr. */
void qp_opts_try(const struct qp_prog *p);

/* 0 when argv has nothing after the options; else reports the first and
 * returns -1. */
int qp_opts_no_args(const struct qp_prog *p, int argc, char **argv);

/* The namespace: *ns as given by --ns (checked), or QPULSE_NS, or
 * "default".  0, or -1 after reporting a bad one. */
int qp_opts_ns(const struct qp_prog *p, const char **ns);

#endif /* QPULSE_OPTS_H */
