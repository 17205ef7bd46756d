/*
 * opts.c — the table-driven option parser of every qpulse program: one
 * table per program gives getopt_long's options and the generated --help.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "opts.h"

#define OPTS_MAX 40

/* getopt_long's table and short-option string, built once per program. */
static const struct qp_prog *built;
static struct option lopts[OPTS_MAX + 1];
static char shorts[3 * OPTS_MAX + 3];

static void build(const struct qp_prog *p)
{
    size_t n = p->nopts < OPTS_MAX ? p->nopts : OPTS_MAX, k = 0;
    if (p->stop_at_arg)
        shorts[k++] = '+';
    shorts[k++] = ':';   /* a missing value is ':', not '?' */
    for (size_t i = 0; i < n; i++) {
        const struct qp_opt *o = &p->opts[i];
        lopts[i] = (struct option){ o->name, o->arg ? required_argument : no_argument, NULL,
                                    o->key };
        if (o->key < QP_OPT_LONG) {
            shorts[k++] = (char)o->key;
            if (o->arg)
                shorts[k++] = ':';
        }
    }
    shorts[k] = 0;
    memset(&lopts[n], 0, sizeof lopts[n]);
    built = p;
    optind = 0;   /* glibc: start again from argv[1], whatever ran before */
}

int qp_opts_next(const struct qp_prog *p, int argc, char **argv)
{
    if (built != p)
        build(p);
    opterr = 0;   /* our own messages, with the program's full name */
    int c = getopt_long(argc, argv, shorts, lopts, NULL);
    if (c == ':' || c == '?') {
        /* a short letter names itself; a long option is the word as typed */
        const char *w = argv[optind - 1];
        char word[64];
        if (optopt > 0 && optopt < QP_OPT_LONG && strncmp(w, "--", 2) != 0)
            snprintf(word, sizeof word, "-%c", optopt);
        else
            snprintf(word, sizeof word, "%.*s", (int)strcspn(w, "="), w);
        if (c == ':')
            fprintf(stderr, "%s: option '%s' needs a value\n", p->name, word);
        else
            fprintf(stderr, "%s: unknown option '%s'\n", p->name, word);
        return QP_OPT_BAD;
    }
    return c;
}

void qp_opts_put_indented(FILE *f, const char *s, int indent)
{
    for (; *s; s++) {
        fputc(*s, f);
        if (*s == '\n')
            fprintf(f, "%*s", indent, "");
    }
}

#define HELP_COL 26    /* where each option's text starts */
#define USAGE_WIDTH 79 /* the usage line wraps before going past this column */

/* Writes " word" at *col, or starts a new line at column indent for it
 * when it would go past USAGE_WIDTH. */
static void put_word(FILE *f, const char *word, int indent, int *col)
{
    int n = (int)strlen(word);
    if (*col >= indent && *col + 1 + n > USAGE_WIDTH) {
        fprintf(f, "\n%*s", indent - 1, "");
        *col = indent - 1;
    }
    fprintf(f, " %s", word);
    *col += 1 + n;
}

void qp_opts_usage(const struct qp_prog *p, const char *name, int col, FILE *f)
{
    fputs(name, f);
    col += (int)strlen(name);
    int indent = col + 1;   /* under the first option */
    for (size_t i = 0; i < p->nopts; i++) {
        const struct qp_opt *o = &p->opts[i];
        if (!strcmp(o->name, "help") || !strcmp(o->name, "version"))
            continue;
        char word[64];
        if (o->key < QP_OPT_LONG)
            snprintf(word, sizeof word, "[-%c%s%s]", o->key, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        else
            snprintf(word, sizeof word, "[--%s%s%s]", o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        put_word(f, word, indent, &col);
    }
    if (p->operands)
        put_word(f, p->operands, indent, &col);
    fputc('\n', f);
}

void qp_opts_help(const struct qp_prog *p, FILE *f)
{
    fputs("Usage: ", f);
    qp_opts_usage(p, p->name, 7, f);
    if (p->about)
        fprintf(f, "\n%s\n", p->about);
    fputc('\n', f);
    for (size_t i = 0; i < p->nopts; i++) {
        const struct qp_opt *o = &p->opts[i];
        char left[64];
        snprintf(left, sizeof left, "%c%c%c --%s%s%s", o->key < QP_OPT_LONG ? '-' : ' ',
                 o->key < QP_OPT_LONG ? o->key : ' ', o->key < QP_OPT_LONG ? ',' : ' ',
                 o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        fprintf(f, "  %-*s", HELP_COL - 3, left);
        if (strlen(left) >= HELP_COL - 3)
            fprintf(f, "\n%*s", HELP_COL - 1, "");
        fputc(' ', f);
        qp_opts_put_indented(f, o->help, HELP_COL);
        if (o->def)
            fprintf(f, " [%s]", o->def);
        fputc('\n', f);
    }
    if (p->footer)
        fprintf(f, "\n%s\n", p->footer);
}

void qp_opts_try(const struct qp_prog *p)
{
    fprintf(stderr, "Try '%s --help'.\n", p->name);
}

int qp_opts_no_args(const struct qp_prog *p, int argc, char **argv)
{
    if (optind >= argc)
        return 0;
    fprintf(stderr, "%s: unexpected argument '%s'\n", p->name, argv[optind]);
    return -1;
}

int qp_opts_ns(const struct qp_prog *p, const char **ns)
{
    const char *from = "--ns", *v = *ns;
    if (!v) {
        from = "QPULSE_NS";
        v = qp_ns_from_env();
        if (v) {
            *ns = v;
            return 0;
        }
        v = getenv("QPULSE_NS");
    }
    if (qp_ns_valid(v))
        return 0;
    fprintf(stderr, "%s: %s: '%s' is not a namespace (1-48 characters of A-Z a-z 0-9 _ -)\n",
            p->name, from, v);
    return -1;
}
