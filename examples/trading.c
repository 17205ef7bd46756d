/*
 * trading.c — a trading loop: a crypto arbitrage loop that
 * parses price updates from three exchanges, looks for a bid on one exchange
 * above the ask on another, and when it finds one checks risk, creates the
 * two orders, submits them and updates positions.
 *
 * The code path is real (messages are formatted and parsed, the book and the
 * positions are real arithmetic); only the exchange is simulated: its round
 * trip is a log-normal delay (median ~90 us, an occasional congested reply
 * ten times slower), spun on the clock so that microseconds stay
 * microseconds.  In qptop, OrderSubmission stands out, and its child
 * NetworkLatency shows where the time goes.
 * --colo shows the fix: the gateway moved next door.
 *
 *   trading [SECONDS] [--rate UPDATES_PER_SEC] [--colo]
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ex_common.h"
#include "trading_ops.h"

#define NEXCH 3
#define FEE_RATE 0.00002      /* taker fee per side, as a fraction */
#define MAX_POSITION 5.0      /* BTC, per exchange, either side */
#define MAX_ORDER_QTY 0.5     /* BTC */

static const char *const exch_names[NEXCH] = { "BINANCE", "KRAKEN", "COINBASE" };

struct quote {
    double bid, ask, bid_qty, ask_qty;
    int valid;
};

/* What the strategy knows: the latest quote of each exchange and a window
 * of recent consolidated mid prices, from which it estimates volatility. */
#define VOL_WINDOW 512
struct market {
    struct quote book[NEXCH];
    double mids[VOL_WINDOW];
    unsigned long nmids;
};

struct opportunity {
    int buy, sell;            /* exchange indexes */
    double buy_px, sell_px, qty;
};

struct order {
    unsigned long id;
    int exch;
    char side;                /* 'B' or 'S' */
    double px, qty;
};

struct portfolio {
    double position[NEXCH];   /* BTC held on each exchange */
    double cash;              /* USD, fees included */
};

struct options {
    double seconds, rate;
    int colo;
};

struct stats {
    unsigned long updates, opportunities, orders, rejected, risk_refused;
};

/* ---------------------------------------------------------------------- */
/* The simulated exchanges                                                 */
/* ---------------------------------------------------------------------- */

/* The market's "true" mid price wanders; each update comes from one exchange
 * and now and then that exchange lags the others by a few dollars, which is
 * what the strategy lives on. */
static int feed_next(char *buf, size_t len, double *mid, unsigned long seq)
{
    int e = (int)(ex_rand() % NEXCH);
    *mid += (ex_uniform() - 0.5) * 2.0;
    double skew = ex_uniform() < 0.025 ? (ex_uniform() < 0.5 ? -1 : 1) * (3 + 9 * ex_uniform()) : 0;
    double m = *mid + skew + (ex_uniform() - 0.5) * 0.4;
    return snprintf(buf, len, "E=%s|S=BTCUSD|B=%.2f|A=%.2f|BQ=%.4f|AQ=%.4f|N=%lu",
                    exch_names[e], m - 0.5, m + 0.5, 0.05 + ex_uniform(),
                    0.05 + ex_uniform(), seq);
}

/* The gateway's round trip: log-normal, with a congested tail. */
static uint64_t network_rtt_ns(int colo)
{
    uint64_t ns = colo ? ex_lognormal_ns(30000, 0.25) : ex_lognormal_ns(90000, 0.35);
    if (ex_uniform() < (colo ? 0.001 : 0.005))
        ns *= 4 + ex_rand() % 12;
    return ns;
}

/* ---------------------------------------------------------------------- */
/* The strategy                                                            */
/* ---------------------------------------------------------------------- */

/* "E=KRAKEN|S=BTCUSD|B=...|A=...|BQ=...|AQ=...|N=..." into a quote. */
static int parse_update(const char *msg, struct quote *q, int *exch)
{
    char buf[160];
    size_t n = strlen(msg);
    if (n >= sizeof buf)
        return -EINVAL;
    memcpy(buf, msg, n + 1);
    int seen = 0;
    *exch = -1;
    for (char *save = NULL, *f = strtok_r(buf, "|", &save); f; f = strtok_r(NULL, "|", &save)) {
        char *v = strchr(f, '=');
        if (!v)
            return -EINVAL;
        *v++ = '\0';
        if (!strcmp(f, "E")) {
            for (int i = 0; i < NEXCH; i++)
                if (!strcmp(v, exch_names[i]))
                    *exch = i;
        } else if (!strcmp(f, "B")) {
            q->bid = strtod(v, NULL), seen |= 1;
        } else if (!strcmp(f, "A")) {
            q->ask = strtod(v, NULL), seen |= 2;
        } else if (!strcmp(f, "BQ")) {
            q->bid_qty = strtod(v, NULL), seen |= 4;
        } else if (!strcmp(f, "AQ")) {
            q->ask_qty = strtod(v, NULL), seen |= 8;
        }
    }
    if (*exch < 0 || seen != 15 || !(q->bid < q->ask))
        return -EINVAL;
    q->valid = 1;
    return 0;
}

/* Standard deviation of tick-to-tick mid changes over the window. */
static double volatility(struct market *m)
{
    double mid = 0;
    int nq = 0;
    for (int i = 0; i < NEXCH; i++)
        if (m->book[i].valid)
            mid += (m->book[i].bid + m->book[i].ask) / 2, nq++;
    if (nq)
        m->mids[m->nmids++ % VOL_WINDOW] = mid / nq;
    unsigned long n = m->nmids < VOL_WINDOW ? m->nmids : VOL_WINDOW;
    unsigned long first = m->nmids - n;
    double sum = 0, sq = 0;
    for (unsigned long i = first + 1; i < m->nmids; i++) {
        double d = m->mids[i % VOL_WINDOW] - m->mids[(i - 1) % VOL_WINDOW];
        sum += d;
        sq += d * d;
    }
    if (n < 3)
        return 0;
    double mean = sum / (double)(n - 1);
    return sqrt(sq / (double)(n - 1) - mean * mean);
}

/* Buy where it is cheapest, sell where it is dearest, if fees leave a profit
 * and the edge is wide enough not to vanish on the way to the exchange
 * (half a tick's volatility); size shrinks as volatility grows. */
static int detect(struct market *m, struct opportunity *op)
{
    const struct quote *book = m->book;
    double vol = volatility(m);
    double best = 0.5 * vol;
    for (int b = 0; b < NEXCH; b++) {
        for (int s = 0; s < NEXCH; s++) {
            if (b == s || !book[b].valid || !book[s].valid)
                continue;
            double fees = (book[b].ask + book[s].bid) * FEE_RATE;
            double edge = book[s].bid - book[b].ask - fees;
            if (edge > best) {
                best = edge;
                *op = (struct opportunity){ b, s, book[b].ask, book[s].bid,
                                            book[b].ask_qty < book[s].bid_qty ?
                                            book[b].ask_qty : book[s].bid_qty };
            }
        }
    }
    if (best > 0.5 * vol)
        op->qty /= 1 + vol;
    return best > 0.5 * vol;
}

/* Clamps the quantity to the per-order and per-exchange limits; 0 = refuse. */
static int risk_check(const struct portfolio *pf, struct opportunity *op)
{
    double q = op->qty < MAX_ORDER_QTY ? op->qty : MAX_ORDER_QTY;
    double room_buy = MAX_POSITION - pf->position[op->buy];
    double room_sell = MAX_POSITION + pf->position[op->sell];
    if (q > room_buy)
        q = room_buy;
    if (q > room_sell)
        q = room_sell;
    op->qty = q;
    return q >= 0.001;
}

static void create_orders(const struct opportunity *op, struct order o[2], unsigned long *next_id)
{
    o[0] = (struct order){ (*next_id)++, op->buy, 'B', op->buy_px, op->qty };
    o[1] = (struct order){ (*next_id)++, op->sell, 'S', op->sell_px, op->qty };
}

/* A FIX-like new-order message with its checksum, the gateway's round trip,
 * and the parsed acknowledgement.  Returns the filled quantity (0: rejected). */
static double submit_order(const struct order *o, int colo)
{
    QPULSE_SCOPE(trading, OrderSubmission);
    char msg[256];
    int n = snprintf(msg, sizeof msg, "35=D|11=%lu|55=BTCUSD|54=%c|38=%.4f|44=%.2f|100=%s|",
                     o->id, o->side == 'B' ? '1' : '2', o->qty, o->px, exch_names[o->exch]);
    unsigned sum = 0;
    for (int i = 0; i < n; i++)
        sum += (unsigned char)msg[i];
    snprintf(msg + n, sizeof msg - (size_t)n, "10=%03u|", sum % 256);

    char ack[128];
    {
        QPULSE_SCOPE(trading, NetworkLatency);
        ex_delay_ns(network_rtt_ns(colo));
        /* The exchange rejects one order in a hundred (stale price). */
        snprintf(ack, sizeof ack, "35=8|11=%lu|39=%c|14=%.4f|", o->id,
                 ex_uniform() < 0.01 ? '8' : '2', o->qty);
    }
    const char *st = strstr(ack, "|39="), *cum = strstr(ack, "|14=");
    if (!st || !cum || st[4] != '2')
        return 0;
    return strtod(cum + 4, NULL);
}

static void update_position(struct portfolio *pf, const struct order *o, double filled)
{
    double notional = o->px * filled;
    if (o->side == 'B') {
        pf->position[o->exch] += filled;
        pf->cash -= notional;
    } else {
        pf->position[o->exch] -= filled;
        pf->cash += notional;
    }
    pf->cash -= notional * FEE_RATE;
}

/* ---------------------------------------------------------------------- */
/* The loop                                                                */
/* ---------------------------------------------------------------------- */

static void on_update(const char *msg, struct market *mk, struct portfolio *pf,
                      struct stats *st, unsigned long *next_id, int colo)
{
    struct quote q = { 0, 0, 0, 0, 0 };
    int exch;
    if (QPULSE_PROFILE(trading, PriceFeedParsing, parse_update(msg, &q, &exch)) < 0)
        return;
    mk->book[exch] = q;

    struct opportunity op = { 0, 0, 0, 0, 0 };
    if (!QPULSE_PROFILE(trading, ArbitrageDetection, detect(mk, &op)))
        return;
    st->opportunities++;
    if (!QPULSE_PROFILE(trading, RiskCheck, risk_check(pf, &op))) {
        st->risk_refused++;
        return;
    }
    struct order orders[2];
    QPULSE_PROFILE(trading, OrderCreation, create_orders(&op, orders, next_id));
    for (int i = 0; i < 2; i++) {
        double filled = submit_order(&orders[i], colo);
        st->orders++;
        if (filled == 0)
            st->rejected++;
        QPULSE_PROFILE(trading, PositionUpdate, update_position(pf, &orders[i], filled));
    }
    /* Our own fills moved the market: the quotes we hit are gone. */
    mk->book[op.buy].valid = mk->book[op.sell].valid = 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: trading [SECONDS] [--rate UPDATES_PER_SEC] [--colo]\n"
               "  SECONDS   how long to run (default 10)\n"
               "  --rate N  price updates per second (default 10000)\n"
               "  --colo    the gateway is co-located: ~30 us round trips\n");
}

int main(int argc, char **argv)
{
    struct options opt = { 10, 10000, 0 };
    const struct ex_opt opts[] = {
        { "rate", 'r', &opt.rate, 1e7, 0, NULL },
        { "colo", 'c', NULL, 0, 0, &opt.colo },
    };
    ex_parse_args(argc, argv, opts, sizeof opts / sizeof opts[0], &opt.seconds, usage);
    ex_init("trading");

    static struct market mk;
    struct portfolio pf = { { 0, 0, 0 }, 0 };
    struct stats st = { 0, 0, 0, 0, 0 };
    unsigned long next_id = 1;
    double mid = 43250.0;
    char msg[160];

    uint64_t t0 = ex_now_ns();
    uint64_t end = t0 + (uint64_t)(opt.seconds * 1e9);
    double period = 1e9 / opt.rate;
    /* Updates arrive on a schedule; after a slow order the loop catches up
     * on the backlog without sleeping, as a real feed handler would. */
    for (uint64_t now = t0; now < end && !ex_stop_requested(); now = ex_now_ns()) {
        uint64_t due = t0 + (uint64_t)((double)st.updates * period);
        if (due > now) {
            ex_sleep_until(due < end ? due : end);
            continue;
        }
        feed_next(msg, sizeof msg, &mid, st.updates);
        on_update(msg, &mk, &pf, &st, &next_id, opt.colo);
        st.updates++;
    }

    double secs = (double)(ex_now_ns() - t0) / 1e9;
    printf("trading: updates=%lu opportunities=%lu refused=%lu orders=%lu rejected=%lu "
           "seconds=%.2f "
           "recorded=%llu dropped=%llu\n",
           st.updates, st.opportunities, st.risk_refused, st.orders, st.rejected, secs,
           (unsigned long long)qpulse_recorded(), (unsigned long long)qpulse_dropped());
    return 0;
}
