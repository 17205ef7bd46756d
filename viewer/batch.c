/*
 * batch.c — `qptop -b`: COUNT reports DELAY seconds apart, like `top -b`.
 *
 *   text  the screen's header and table (the same rows and columns)
 *   json  the daemon's snapshot object exactly as received, one per line
 *   csv   a header row, then one row per process x operation per report
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "view.h"


/* ---------------------------------------------------------------------- */
/* Text                                                                    */
/* ---------------------------------------------------------------------- */

/* The summary lines above the table; shared with the screen's header in
 * spirit (panel_header.c draws the same facts). */
static void text_summary(FILE *out, const qp_snapshot_t *snap, const view_rows_t *rows,
                         const view_settings_t *s)
{
    char when[64] = "?";
    time_t t = (time_t)snap->time;
    struct tm tm;
    if (localtime_r(&t, &tm))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    char win[32];
    if (snap->cumulative)
        snprintf(win, sizeof win, "cumulative");
    else
        snprintf(win, sizeof win, "window %gs", snap->window_s);
    fprintf(out, "qptop - namespace %s - %s - %s - grouped by %s%s\n",
            snap->ns ? snap->ns : "?", when, win, view_group_name(s->group),
            s->merge ? ", merged" : "");
    char hidden[64] = "";
    if (rows->hidden > 0)
        snprintf(hidden, sizeof hidden, " (%d idle hidden)", rows->hidden);
    fprintf(out,
            "processes: %d alive, %d exited%s   ops: %zu   samples/s: %.1f   dropped: %llu\n",
            rows->alive, rows->exited, hidden, rows->nops, snap->samples_per_s,
            (unsigned long long)snap->dropped_total);
}

const char *view_skipped_line(const qp_snapshot_t *snap, char *buf, size_t len)
{
    if (!snap || !snap->nskipped || len < 64)
        return NULL;
    static const char tail[] = " - see the qpulsed log";
    size_t room = len - sizeof tail, n;
    n = (size_t)snprintf(buf, room, "%zu process%s skipped:", snap->nskipped,
                         snap->nskipped == 1 ? "" : "es");
    for (size_t i = 0; i < snap->nskipped && n < room; i++) {
        const qp_snap_skip_t *k = &snap->skipped[i];
        const char *name = k->name && *k->name ? k->name : "?";
        n += (size_t)snprintf(buf + n, room - n, "%s %s[%ld] %s", i ? ";" : "", name, k->pid,
                              k->reason ? k->reason : "");
    }
    if (n >= room)
        n = room - 1;
    snprintf(buf + n, len - n, "%s", tail);
    return qp_scrub(buf);   /* a reason comes from a file name or a log */
}

void view_text_report(FILE *out, const qp_snapshot_t *snap, const view_settings_t *s,
                      double delay_s)
{
    view_rows_t rows = { 0 };
    if (view_model_build(&rows, snap, s) < 0) {
        fprintf(out, "qptop: out of memory\n");
        view_rows_free(&rows);
        return;
    }
    text_summary(out, snap, &rows, s);
    char skip[1024];
    if (view_skipped_line(snap, skip, sizeof skip))
        fprintf(out, "%s\n", skip);
    /* all the columns, the text ones as wide as their content */
    int need[COL_COUNT_] = { 0 };
    view_layout_t l;
    view_layout_need(&rows, need);
    view_layout_all(need, &l);
    char line[1024];
    fprintf(out, "\n%s\n", view_format_header(&l, -1, 0, line, sizeof line));
    for (size_t i = 0; i < rows.n; i++)
        fprintf(out, "%s\n", view_format_row(&rows.v[i], &l, line, sizeof line));
    view_rows_free(&rows);
}

/* ---------------------------------------------------------------------- */
/* CSV                                                                     */
/* ---------------------------------------------------------------------- */

static const char csv_header[] =
    "time,ns,pid,name,alive,set,op,group,priority,count,rate_per_s,mean_ns,min_ns,max_ns,"
    "p50_ns,p90_ns,p99_ns,p999_ns,stddev_ns,total_ns,self_ns,p99_prev_ns,over_budget,"
    "dropped,cpu_pct,rss_bytes,description,cmdline";

/* RFC 4180: a field with a comma, quote or line break is quoted, quotes
 * doubled. */
static void csv_str(FILE *out, const char *s)
{
    if (!s)
        s = "";
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

/* The arguments joined by spaces, as one field. */
static void csv_args(FILE *out, const qp_snap_proc_t *p)
{
    size_t len = 1;
    for (size_t i = 0; i < p->ncmdline; i++)
        len += strlen(p->cmdline[i]) + 1;
    char *s = malloc(len);
    if (!s)
        return;
    s[0] = 0;
    for (size_t i = 0, o = 0; i < p->ncmdline; i++) {
        size_t n = strlen(p->cmdline[i]);
        if (i)
            s[o++] = ' ';
        memcpy(s + o, p->cmdline[i], n + 1);
        o += n;
    }
    csv_str(out, s);
    free(s);
}

static void csv_report(FILE *out, const qp_snapshot_t *snap)
{
    for (size_t i = 0; i < snap->nprocs; i++) {
        const qp_snap_proc_t *p = &snap->procs[i];
        for (size_t j = 0; j < p->nops; j++) {
            const qp_snap_op_t *o = &p->ops[j];
            int broken = 0;
            for (size_t k = 0; k < o->nbudgets; k++)
                broken |= o->budgets[k].broken;
            fprintf(out, "%.3f,", snap->time);
            csv_str(out, snap->ns);
            fprintf(out, ",%ld,", p->pid);
            csv_str(out, p->name);
            fprintf(out, ",%d,", p->alive ? 1 : 0);
            csv_str(out, o->set);
            fputc(',', out);
            csv_str(out, o->op);
            fputc(',', out);
            csv_str(out, o->group);
            fprintf(out, ",%d,%llu,%.3f,%.1f,%llu,%llu,%llu,%llu,%llu,%llu,%.1f,%llu,%llu,%llu,%d,"
                    "%llu,%.1f,%llu,",
                    o->priority, (unsigned long long)o->count, o->rate_per_s, o->mean_ns,
                    (unsigned long long)o->min_ns, (unsigned long long)o->max_ns,
                    (unsigned long long)o->p50_ns, (unsigned long long)o->p90_ns,
                    (unsigned long long)o->p99_ns, (unsigned long long)o->p999_ns,
                    o->stddev_ns, (unsigned long long)o->total_ns,
                    (unsigned long long)o->self_ns, (unsigned long long)o->p99_prev_ns, broken,
                    (unsigned long long)p->dropped, p->cpu_pct,
                    (unsigned long long)p->rss_bytes);
            csv_str(out, o->description);
            fputc(',', out);
            csv_args(out, p);
            fputc('\n', out);
        }
    }
}

/* ---------------------------------------------------------------------- */
/* The loop                                                                */
/* ---------------------------------------------------------------------- */

static void sleep_until(const struct timespec *t)
{
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, t, NULL) == EINTR)
        ;
}

int view_batch_run(const view_options_t *opts)
{
    long count = opts->count > 0 ? opts->count : 1;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (long i = 0; i < count; i++) {
        qp_snapshot_t *snap;
        char *raw = NULL, err[512];
        int r = view_source_fetch(opts, opts->set.cumulative, 0, &snap,
                                  opts->format == VIEW_FMT_JSON ? &raw : NULL, err, sizeof err);
        if (r < 0) {
            fprintf(stderr, "qptop: %s\n", err);
            return 1;
        }
        if (opts->format == VIEW_FMT_JSON) {
            fputs(raw, stdout);
            fputc('\n', stdout);
        } else if (opts->format == VIEW_FMT_CSV) {
            if (i == 0)
                puts(csv_header);
            csv_report(stdout, snap);
        } else {
            if (i > 0)
                fputc('\n', stdout);
            view_text_report(stdout, snap, &opts->set, opts->delay_s);
        }
        free(raw);
        qp_snapshot_free(snap);
        if (fflush(stdout) == EOF)
            return 1;   /* e.g. the reader of a pipe went away */
        if (i + 1 < count) {
            double d = opts->delay_s;
            next.tv_sec += (time_t)d;
            next.tv_nsec += (long)((d - floor(d)) * 1e9);
            if (next.tv_nsec >= 1000000000L) {
                next.tv_sec++;
                next.tv_nsec -= 1000000000L;
            }
            sleep_until(&next);
        }
    }
    return 0;
}
