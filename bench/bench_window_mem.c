/*
 * bench_window_mem.c — what qpulsed's statistics cost in memory: 5000
 * operations (100 processes x 50 operations) fed log-normal latencies
 * (median 20 us, sigma 1: about nine octaves) at several rates for 12 s
 * of simulated time, through the daemon's own aggregation (daemon/agg.c),
 * so each holds a cumulative histogram and a full 10 s window.
 *
 *   bench_window_mem [RATE...]     samples per second per operation
 *   BENCH_SECONDS=600 bench_window_mem 100   a long run: the cumulative
 *                                  histograms fill up
 *
 * Each operation also keeps its 5 slowest samples of each second and since
 * start (qpulsed's default --slowest 5; the recorder is off, so no trees).
 * Prints bytes per operation and the total, against the naive layout (every
 * per-second histogram dense) as a ratio, then where they go: the buckets
 * of the cumulative histogram and of the window's seconds, the slowest
 * samples, the rest (structures, names, the allocator's headers), and the
 * heap the allocator holds beyond what is in use (fragmentation).
 */
#include "config.h"

#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "agg.h"
#include "slowest.h"

#define NOPS 5000
static uint64_t rng = BENCH_RNG_SEED;

static int SECONDS = 12;   /* simulated seconds; $BENCH_SECONDS overrides */

static void run(int rate)
{
    struct mallinfo2 m0 = mallinfo2();
    size_t before = m0.uordblks, arena0 = m0.arena + m0.hblkhd;
    struct agg_op **ops = calloc(NOPS, sizeof *ops);
    qp_op_info_t info = { "set", "OpName", "group", "a description of the operation", 1, 0 };
    size_t dense = 0;
    for (int i = 0; i < NOPS; i++)
        ops[i] = agg_op_new(&info);
    for (int sec = 0; sec < SECONDS; sec++)
        for (int i = 0; i < NOPS; i++)
            for (int k = 0; k < rate; k++) {
                double g = sqrt(-2 * log(bench_u01(&rng) + 1e-300)) * cos(2 * M_PI * bench_u01(&rng));
                uint64_t v = (uint64_t)(20000 * exp(g)) + 1;
                agg_add(ops[i], sec, v, v);
                if (slowest_wants(ops[i], sec, (unsigned)(sec % (int)agg_slots), v))
                    slowest_offer(ops[i], sec, UINT64_MAX, (uint64_t)sec * 1000000000u + k, v, v,
                                  1, 0);
            }
    struct mallinfo2 m1 = mallinfo2();
    size_t used = m1.uordblks - before;
    size_t frag = m1.arena + m1.hblkhd - arena0 > used ? m1.arena + m1.hblkhd - arena0 - used : 0;
    size_t cum = 0, win = 0, slow = 0;
    for (int i = 0; i < NOPS; i++) {
        slow += slowest_memory(ops[i]);
        cum += hist_memory(&ops[i]->cum.h);
        for (unsigned k = 0; k < agg_slots; k++)
            win += hist_memory(&ops[i]->win[k].st.h);
    }
    /* the naive layout: each window second as dense as the cumulative one */
    for (int i = 0; i < NOPS; i++)
        dense += hist_memory(&ops[i]->cum.h) * (agg_slots + 1);
    printf("%6d samples/s per op: %7.1f KiB/op, %7.1f MiB for %d ops "
           "(all seconds dense, estimated: %7.1f MiB; ratio %.2f)\n",
           rate, (double)used / 1024 / NOPS, (double)used / 1048576, NOPS,
           (double)dense / 1048576, (double)used / (double)dense);
    printf("        of which buckets: cumulative %.1f KiB/op, window seconds %.1f KiB/op; "
           "slowest samples %.1f KiB/op; the rest %.1f KiB/op; free in the heap %.1f KiB/op\n",
           (double)cum / 1024 / NOPS, (double)win / 1024 / NOPS, (double)slow / 1024 / NOPS,
           ((double)used - (double)cum - (double)win - (double)slow) / 1024 / NOPS,
           (double)frag / 1024 / NOPS);
    for (int i = 0; i < NOPS; i++)
        agg_op_free(ops[i]);
    free(ops);
}

int main(int argc, char **argv)
{
    agg_window_s = 10;
    agg_slots = 11;
    slow_k = 5;
    if (getenv("BENCH_SECONDS"))
        SECONDS = atoi(getenv("BENCH_SECONDS"));
    printf("qpulsed statistics memory, %d ops, 10 s window, log-normal latencies, %d s\n",
           NOPS, SECONDS);
    if (argc > 1)
        for (int i = 1; i < argc; i++)
            run(atoi(argv[i]));
    else {
        run(10);
        run(100);
        run(1000);
    }
    return 0;
}
