/*
 * test_snapshot.c — the snapshot JSON reader (lib/snapshot.c): the full
 * example of docs/PROTOCOL.md, the minimal documented form, cumulative vs
 * window, unknown fields, files, and every kind of bad input with the field
 * named in the error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "snapshot.h"

/* The example of docs/PROTOCOL.md, plus an unknown field at each level. */
static const char full[] =
    "{\"qpulse\": 1, \"time\": 1763800000.25, \"window_s\": 10.0, \"ns\": \"default\",\n"
    " \"daemon_pid\": 777, \"uptime_s\": 12.5, \"samples_per_s\": 123456.0,\n"
    " \"dropped_total\": 3, \"future_field\": {\"x\": [1, 2]},\n"
    " \"processes\": [\n"
    "  {\"pid\": 4242, \"name\": \"trading\", \"cmdline\": [\"./trading\", \"60\"],\n"
    "   \"alive\": true, \"dropped\": 3,\n"
    "   \"started_at\": 1763799990.0, \"exited_at\": null, \"whatever\": 1,\n"
    "   \"cpu_pct\": 12.5, \"rss_bytes\": 10485760, \"threads\": 3,\n"
    "   \"ops\": [\n"
    "    {\"set\": \"trading\", \"op\": \"OrderValidation\", \"group\": \"orders\",\n"
    "     \"description\": \"Validating incoming trading orders\", \"priority\": 1,\n"
    "     \"count\": 45230, \"rate_per_s\": 4523.0, \"mean_ns\": 12500.3,\n"
    "     \"min_ns\": 9100, \"max_ns\": 88000, \"p50_ns\": 12100, \"p90_ns\": 14000,\n"
    "     \"p99_ns\": 30100, \"p999_ns\": 61000, \"stddev_ns\": 2100.5,\n"
    "     \"total_ns\": 565388569, \"self_ns\": 465388569, \"new_stat\": 5,\n"
    "     \"p99_prev_ns\": 29000,\n"
    "     \"children\": [{\"set\": \"trading\", \"op\": \"PriceLookup\", \"count\": 45230,\n"
    "                   \"total_ns\": 100000000}],\n"
    "     \"budgets\": [{\"rule\": \"trading.* p99 < 100us\", \"stat\": \"p99\",\n"
    "                  \"limit_ns\": 100000, \"actual_ns\": 30100, \"broken\": false}],\n"
    "     \"hist\": [[12000, 12100, 532], [12100, 12200, 611]]}\n"
    "   ]}\n"
    " ]}\n";

static qp_snapshot_t *parse(const char *json, char *err, size_t errlen)
{
    return qp_snapshot_parse(json, strlen(json), err, errlen);
}

Test(snapshot, parses_protocol_example)
{
    char err[256] = "";
    qp_snapshot_t *s = parse(full, err, sizeof err);
    cr_assert_not_null(s, "the protocol's example must parse: %s", err);
    cr_expect_eq(s->version, 1);
    cr_expect_float_eq(s->time, 1763800000.25, 1e-3);
    cr_expect_float_eq(s->window_s, 10.0, 1e-9);
    cr_expect_not(s->cumulative, "window_s 10 is a window snapshot");
    cr_expect_str_eq(s->ns, "default");
    cr_expect_eq(s->daemon_pid, 777);
    cr_expect_eq(s->dropped_total, 3);
    cr_assert_eq(s->nprocs, 1);
    qp_snap_proc_t *p = &s->procs[0];
    cr_expect_eq(p->pid, 4242);
    cr_expect_str_eq(p->name, "trading");
    cr_assert_eq(p->ncmdline, 2);
    cr_expect_str_eq(p->cmdline[0], "./trading");
    cr_expect_str_eq(p->cmdline[1], "60");
    cr_expect(p->alive);
    cr_expect_eq(p->rss_bytes, 10485760);
    cr_expect_eq(p->threads, 3);
    cr_expect_float_eq(p->cpu_pct, 12.5, 1e-9);
    cr_expect_float_eq(p->exited_at, 0, 1e-9, "exited_at null reads as 0");
    cr_assert_eq(p->nops, 1);
    qp_snap_op_t *o = &p->ops[0];
    cr_expect_str_eq(o->set, "trading");
    cr_expect_str_eq(o->op, "OrderValidation");
    cr_expect_str_eq(o->group, "orders");
    cr_expect_eq(o->priority, 1);
    cr_expect_eq(o->count, 45230);
    cr_expect_eq(o->min_ns, 9100);
    cr_expect_eq(o->max_ns, 88000);
    cr_expect_eq(o->p50_ns, 12100);
    cr_expect_eq(o->p90_ns, 14000);
    cr_expect_eq(o->p99_ns, 30100);
    cr_expect_eq(o->p999_ns, 61000);
    cr_expect_float_eq(o->mean_ns, 12500.3, 1e-6);
    cr_expect_eq(o->self_ns, 465388569);
    cr_expect_eq(o->p99_prev_ns, 29000);
    cr_assert_eq(o->nchildren, 1);
    cr_expect_str_eq(o->children[0].op, "PriceLookup");
    cr_expect_eq(o->children[0].total_ns, 100000000);
    cr_assert_eq(o->nbudgets, 1);
    cr_expect_str_eq(o->budgets[0].stat, "p99");
    cr_expect_float_eq(o->budgets[0].limit_ns, 100000, 1e-9);
    cr_expect_not(o->budgets[0].broken);
    cr_assert_eq(o->nhist, 2);
    cr_expect_eq(o->hist[1].lo_ns, 12100);
    cr_expect_eq(o->hist[1].hi_ns, 12200);
    cr_expect_eq(o->hist[1].count, 611);
    qp_snapshot_free(s);
}

Test(snapshot, minimal_documented_form_is_cumulative)
{
    /* The minimal documented form (docs/PROTOCOL.md), with window_s null:
     * no daemon extras. */
    const char *j = "{\"qpulse\":1,\"time\":5,\"window_s\":null,\"processes\":["
                    "{\"pid\":1,\"name\":\"a\",\"alive\":false,\"dropped\":0,\"ops\":[]}]}";
    char err[256] = "";
    qp_snapshot_t *s = parse(j, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    cr_expect(s->cumulative, "window_s null means cumulative");
    cr_expect_float_eq(s->window_s, 0, 1e-12);
    cr_expect_null(s->ns);
    cr_expect_float_eq(s->procs[0].cpu_pct, -1, 1e-12, "missing cpu_pct reads as unknown");
    cr_expect_eq(s->procs[0].nops, 0);
    cr_expect_null(s->procs[0].ops);
    qp_snapshot_free(s);
}

Test(snapshot, reals_for_integers_are_rounded)
{
    const char *j = "{\"qpulse\":1,\"time\":5,\"window_s\":null,\"processes\":["
                    "{\"pid\":1,\"name\":\"a\",\"ops\":[{\"set\":\"s\",\"op\":\"o\","
                    "\"count\":10.0,\"p99_ns\":1234.6}]}]}";
    char err[256] = "";
    qp_snapshot_t *s = parse(j, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    cr_expect_eq(s->procs[0].ops[0].count, 10);
    cr_expect_eq(s->procs[0].ops[0].p99_ns, 1235);
    qp_snapshot_free(s);
}

/* Each bad input, and the text its error must contain. */
static const struct bad_case {
    const char *json, *want;
} bad[] = {
    { "", "not valid JSON" },
    { "garbage", "not valid JSON" },
    { "{\"qpulse\":1,", "not valid JSON" },
    { "[1,2,3]", "expected a JSON object" },
    { "{\"time\":1,\"processes\":[]}", "qpulse: missing" },
    { "{\"qpulse\":2,\"time\":1,\"processes\":[]}", "qpulse: unsupported snapshot version 2" },
    { "{\"qpulse\":1,\"processes\":[]}", "time: missing" },
    { "{\"qpulse\":1,\"time\":\"now\",\"processes\":[]}", "time: expected a number, got a string" },
    { "{\"qpulse\":1,\"time\":1,\"window_s\":\"x\",\"processes\":[]}",
      "window_s: expected a number or null" },
    { "{\"qpulse\":1,\"time\":1}", "processes: missing" },
    { "{\"qpulse\":1,\"time\":1,\"processes\":{}}", "processes: expected an array, got an object" },
    { "{\"qpulse\":1,\"time\":1,\"processes\":[3]}", "processes[0]: expected an object" },
    { "{\"qpulse\":1,\"time\":1,\"processes\":[{\"name\":\"a\",\"ops\":[]}]}",
      "processes[0].pid: missing" },
    { "{\"qpulse\":1,\"time\":1,\"processes\":[{\"pid\":-4,\"name\":\"a\",\"ops\":[]}]}",
      "processes[0].pid: expected a non-negative integer" },
    { "{\"qpulse\":1,\"time\":1,\"processes\":[{\"pid\":1,\"name\":7,\"ops\":[]}]}",
      "processes[0].name: expected a string, got an integer" },
    { "{\"qpulse\":1,\"time\":1,\"processes\":[{\"pid\":1,\"name\":\"a\",\"alive\":1,\"ops\":[]}]}",
      "processes[0].alive: expected true or false" },
    { "{\"qpulse\":1,\"time\":1,\"processes\":[{\"pid\":1,\"name\":\"a\"}]}",
      "processes[0].ops: missing" },
    { "{\"qpulse\":1,\"time\":1,\"processes\":[{\"pid\":1,\"name\":\"a\",\"cmdline\":[\"a\",2],"
      "\"ops\":[]}]}",
      "processes[0].cmdline[1]: expected a string, got an integer" },
    { "{\"qpulse\":1,\"time\":1,\"processes\":[{\"pid\":1,\"name\":\"a\",\"ops\":"
      "[{\"set\":\"s\",\"op\":\"o\",\"count\":1},{\"set\":\"s\",\"count\":1}]}]}",
      "processes[0].ops[1].op: missing" },
    { "{\"qpulse\":1,\"time\":1,\"processes\":[{\"pid\":1,\"name\":\"a\",\"ops\":"
      "[{\"set\":\"s\",\"op\":\"o\",\"count\":1,\"p99_ns\":-5}]}]}",
      "processes[0].ops[0].p99_ns: expected a non-negative number" },
    { "{\"qpulse\":1,\"time\":1,\"processes\":[{\"pid\":1,\"name\":\"a\",\"ops\":"
      "[{\"set\":\"s\",\"op\":\"o\",\"count\":\"many\"}]}]}",
      "processes[0].ops[0].count: expected a non-negative number, got a string" },
    { "{\"qpulse\":1,\"time\":1,\"processes\":[{\"pid\":1,\"name\":\"a\",\"ops\":"
      "[{\"set\":\"s\",\"op\":\"o\",\"count\":1,\"hist\":[[1,2]]}]}]}",
      "processes[0].ops[0].hist[0]: expected [lo_ns, hi_ns, count]" },
    { "{\"qpulse\":1,\"time\":1,\"processes\":[{\"pid\":1,\"name\":\"a\",\"ops\":"
      "[{\"set\":\"s\",\"op\":\"o\",\"count\":1,\"children\":[{\"set\":\"s\"}]}]}]}",
      "processes[0].ops[0].children[0].op: missing" },
    { "{\"qpulse\":1,\"time\":1,\"processes\":[{\"pid\":1,\"name\":\"a\",\"ops\":"
      "[{\"set\":\"s\",\"op\":\"o\",\"count\":1,\"budgets\":[{\"rule\":\"x\",\"stat\":\"p99\","
      "\"limit_ns\":1,\"broken\":\"yes\"}]}]}]}",
      "processes[0].ops[0].budgets[0].broken: expected true or false" },
};

Test(snapshot, bad_input_names_the_field)
{
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[256] = "";
        qp_snapshot_t *s = parse(bad[i].json, err, sizeof err);
        cr_expect_null(s, "case %zu (%s) must be refused", i, bad[i].json);
        cr_expect(strstr(err, bad[i].want) != NULL,
                  "case %zu: error '%s' should contain '%s'", i, err, bad[i].want);
        qp_snapshot_free(s);
    }
}

Test(snapshot, binary_garbage_is_refused)
{
    char junk[512];
    unsigned x = 12345;
    for (size_t i = 0; i < sizeof junk; i++) {
        x = x * 1103515245u + 12345u;
        junk[i] = (char)(x >> 16);
    }
    char err[256] = "";
    qp_snapshot_t *s = qp_snapshot_parse(junk, sizeof junk, err, sizeof err);
    cr_expect_null(s);
    cr_expect(strlen(err) > 0, "an error message is given");
}

static char *write_tmp(const char *text)
{
    char *path = strdup("/tmp/qpulse-test-snapshot.XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    size_t n = strlen(text);
    cr_assert_eq(write(fd, text, n), (ssize_t)n);
    close(fd);
    return path;
}

Test(snapshot, load_reads_first_line_of_a_multi_report_file)
{
    /* `qptop -b -n 2 --format json` writes one object a line. */
    const char *two = "{\"qpulse\":1,\"time\":1,\"window_s\":null,\"processes\":[]}\n"
                      "{\"qpulse\":1,\"time\":2,\"window_s\":null,\"processes\":[]}\n";
    char *path = write_tmp(two);
    char err[256] = "";
    qp_snapshot_t *s = qp_snapshot_load(path, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    cr_expect_float_eq(s->time, 1, 1e-12, "the first report is the one read");
    qp_snapshot_free(s);
    unlink(path);
    free(path);
}

Test(snapshot, load_reads_a_pretty_printed_file)
{
    char *path = write_tmp(full);
    char err[256] = "";
    qp_snapshot_t *s = qp_snapshot_load(path, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    cr_expect_eq(s->procs[0].ops[0].p99_ns, 30100);
    qp_snapshot_free(s);
    unlink(path);
    free(path);
}

Test(snapshot, load_errors_name_the_file)
{
    char err[256] = "";
    cr_expect_null(qp_snapshot_load("/nonexistent/snap.json", err, sizeof err));
    cr_expect(strstr(err, "/nonexistent/snap.json: No such file") != NULL, "got '%s'", err);
    char *path = write_tmp("{\"qpulse\":1}");
    cr_expect_null(qp_snapshot_load(path, err, sizeof err));
    cr_expect(strstr(err, path) && strstr(err, "time: missing"), "got '%s'", err);
    unlink(path);
    free(path);
}

Test(snapshot, free_null_is_harmless)
{
    qp_snapshot_free(NULL);
}

/* "slowest": samples with their trees, nested to any depth; bad trees are
 * refused with the path of the field; absurd nesting is refused. */
Test(snapshot, slowest_trees)
{
    static const char js[] =
        "{\"qpulse\": 1, \"time\": 1, \"window_s\": null, \"processes\": [{\"pid\": 1, "
        "\"name\": \"p\", \"alive\": true, \"ops\": [{\"set\": \"t\", \"op\": \"Exec\", "
        "\"count\": 2, \"slowest\": [{\"time\": 1763800000.123456, \"tid\": 4243, "
        "\"dur_ns\": 512000, \"self_ns\": 12000, \"children\": [{\"set\": \"t\", \"op\": "
        "\"Risk\", \"offset_ns\": 1500, \"dur_ns\": 430000, \"self_ns\": 20000, \"children\": "
        "[{\"set\": \"db\", \"op\": \"Q\", \"offset_ns\": 100, \"dur_ns\": 410000, "
        "\"self_ns\": 410000, \"children\": []}]}, {\"set\": \"t\", \"op\": \"Send\", "
        "\"offset_ns\": 440000, \"dur_ns\": 70000, \"self_ns\": 70000}]}, {\"time\": 2, "
        "\"dur_ns\": 100, \"truncated\": true}]}]}]}";
    char err[256] = "";
    qp_snapshot_t *s = qp_snapshot_parse(js, sizeof js - 1, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    const qp_snap_op_t *o = &s->procs[0].ops[0];
    cr_assert_eq(o->nslowest, 2);
    const qp_snap_slow_t *a = &o->slowest[0];
    cr_assert_float_eq(a->time, 1763800000.123456, 1e-6);
    cr_assert_eq(a->tid, 4243);
    cr_assert_eq(a->dur_ns, 512000);
    cr_assert_eq(a->self_ns, 12000);
    cr_assert_eq(a->nchildren, 2);
    cr_assert_str_eq(a->children[0].op, "Risk");
    cr_assert_eq(a->children[0].offset_ns, 1500);
    cr_assert_eq(a->children[0].nchildren, 1);
    cr_assert_str_eq(a->children[0].children[0].set, "db");
    cr_assert_eq(a->children[0].children[0].dur_ns, 410000);
    cr_assert_eq(a->children[1].offset_ns, 440000);
    cr_assert_eq(a->children[1].nchildren, 0);
    cr_assert(o->slowest[1].truncated);
    cr_assert_eq(o->slowest[1].nchildren, 0);
    qp_snapshot_free(s);

    static const char badtree[] =
        "{\"qpulse\": 1, \"time\": 1, \"processes\": [{\"pid\": 1, \"name\": \"p\", \"ops\": "
        "[{\"set\": \"t\", \"op\": \"E\", \"count\": 1, \"slowest\": [{\"time\": 1, "
        "\"dur_ns\": 5, \"children\": [{\"set\": \"t\", \"op\": \"R\", \"dur_ns\": 1}]}]}]}]}";
    s = qp_snapshot_parse(badtree, sizeof badtree - 1, err, sizeof err);
    cr_assert_null(s);
    cr_assert(strstr(err, "slowest[0].children[0]") && strstr(err, "offset_ns"), "%s", err);

    /* 1000 levels deep: refused, not a stack overflow */
    size_t cap = 200000, n = 0;
    char *deep = malloc(cap);
    cr_assert_not_null(deep);
    n += (size_t)snprintf(deep + n, cap - n, "{\"qpulse\": 1, \"time\": 1, \"processes\": [{\"pid\": 1, "
                          "\"name\": \"p\", \"ops\": [{\"set\": \"t\", \"op\": \"E\", \"count\": 1, "
                          "\"slowest\": [{\"time\": 1, \"dur_ns\": 5, \"children\": [");
    for (int i = 0; i < 1000; i++)
        n += (size_t)snprintf(deep + n, cap - n, "{\"set\": \"a\", \"op\": \"b\", \"offset_ns\": 0, "
                              "\"dur_ns\": 1, \"children\": [");
    for (int i = 0; i < 1000; i++)
        n += (size_t)snprintf(deep + n, cap - n, "]}");
    n += (size_t)snprintf(deep + n, cap - n, "]}]}]}]}");
    s = qp_snapshot_parse(deep, n, err, sizeof err);
    cr_assert_null(s);
    free(deep);
}
