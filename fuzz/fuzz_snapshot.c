/*
 * fuzz_snapshot.c — libFuzzer target for the snapshot JSON reader
 * (qp_snapshot_parse in lib/snapshot.c), which reads what `qpulse check`
 * is given on the command line and what a daemon answers: both untrusted.
 *
 * The input is the JSON text as is.  On success every string and array the
 * parser hands out is walked, so that ASan sees a dangling or short one.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "snapshot.h"

static uint64_t sink;

static void walk_op(const qp_snap_op_t *o)
{
    sink += strlen(o->set) + strlen(o->op) + (o->group ? strlen(o->group) : 0) +
            (o->description ? strlen(o->description) : 0) + o->count + o->p99_ns;
    for (size_t i = 0; i < o->nchildren; i++)
        sink += strlen(o->children[i].set) + strlen(o->children[i].op) + o->children[i].count;
    for (size_t i = 0; i < o->nhist; i++)
        sink += o->hist[i].lo_ns + o->hist[i].hi_ns + o->hist[i].count;
    for (size_t i = 0; i < o->nbudgets; i++)
        sink += (o->budgets[i].rule ? strlen(o->budgets[i].rule) : 0) +
                (o->budgets[i].stat ? strlen(o->budgets[i].stat) : 0) +
                (uint64_t)o->budgets[i].broken;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    qp_snapshot_t *s = qp_snapshot_parse((const char *)data, size, err, sizeof err);
    if (!s) {
        sink += strlen(err);
        return 0;
    }
    sink += (s->ns ? strlen(s->ns) : 0) + s->dropped_total;
    for (size_t i = 0; i < s->nprocs; i++) {
        const qp_snap_proc_t *p = &s->procs[i];
        sink += (p->name ? strlen(p->name) : 0) + p->dropped;
        for (size_t j = 0; j < p->ncmdline; j++)
            sink += strlen(p->cmdline[j]);
        for (size_t j = 0; j < p->nops; j++)
            walk_op(&p->ops[j]);
    }
    qp_snapshot_free(s);
    return 0;
}
