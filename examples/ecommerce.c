/*
 * ecommerce.c — a web service: an order API with a pool
 * of worker threads.  The main thread accepts POST /orders requests (Poisson
 * arrivals at --rate) into a queue; each worker validates the token, loads
 * the cart (cache, then database), checks inventory, prices the cart, writes
 * the order, charges the payment gateway, and hands the confirmation e-mail
 * to a mailer thread.
 *
 * It shows every way to time code with qpulse:
 *   - nested scopes: HandleOrder > InventoryCheck > DatabaseRead;
 *   - QPULSE_PROFILE with a value (TokenValidation, Pricing) and with a void
 *     expression (CacheSet);
 *   - a sampled scope: CacheGet is hot and cheap, 1 call in 8 is recorded;
 *   - QPULSE_RECORD of a duration measured elsewhere: QueueWait, from the
 *     accept time stamped by the main thread;
 *   - a pausable timer: DatabaseWrite is paused while the worker waits for a
 *     pooled connection (that wait is DatabasePoolWait), and discarded when
 *     the write fails, so failures do not pass for fast writes;
 *   - a timer stopped on another thread: EmailNotification starts on the
 *     worker and is stopped by the mailer once the mail is sent (and
 *     discarded when the mail queue is full).
 * Backends are simulated with log-normal delays; everything else is real.
 *
 *   ecommerce [SECONDS] [--rate REQ_PER_SEC] [--threads N] [--db-pool N]
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecommerce_ops.h"
#include "ex_common.h"

QPULSE_DEFINE_SET(ecommerce, ECOMMERCE_OPS)

#define MAX_ITEMS 5
#define CACHE_SLOTS 4096u
#define CACHE_TTL_NS 2000000000u
#define NUSERS 20000u
#define NPRODUCTS 500u
#define MAX_THREADS 64

/* ---------------------------------------------------------------------- */
/* A bounded blocking queue (requests, mail jobs)                          */
/* ---------------------------------------------------------------------- */

struct bq {
    pthread_mutex_t lock;
    pthread_cond_t nonempty;
    unsigned char *items;
    size_t size, cap, head, len;
    int closed;
};

static int bq_init(struct bq *q, size_t size, size_t cap)
{
    memset(q, 0, sizeof *q);
    q->items = calloc(cap, size);
    if (!q->items)
        return -ENOMEM;
    q->size = size;
    q->cap = cap;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->nonempty, NULL);
    return 0;
}

static void bq_destroy(struct bq *q)
{
    pthread_cond_destroy(&q->nonempty);
    pthread_mutex_destroy(&q->lock);
    free(q->items);
}

/* Never blocks: a full queue is the caller's overload to handle. */
static int bq_push(struct bq *q, const void *item)
{
    int r = -EAGAIN;
    pthread_mutex_lock(&q->lock);
    if (q->len < q->cap) {
        memcpy(q->items + ((q->head + q->len) % q->cap) * q->size, item, q->size);
        q->len++;
        pthread_cond_signal(&q->nonempty);
        r = 0;
    }
    pthread_mutex_unlock(&q->lock);
    return r;
}

/* Blocks for an item; -EPIPE once the queue is closed and empty. */
static int bq_pop(struct bq *q, void *item)
{
    pthread_mutex_lock(&q->lock);
    while (q->len == 0 && !q->closed)
        pthread_cond_wait(&q->nonempty, &q->lock);
    int r = -EPIPE;
    if (q->len > 0) {
        memcpy(item, q->items + q->head * q->size, q->size);
        q->head = (q->head + 1) % q->cap;
        q->len--;
        r = 0;
    }
    pthread_mutex_unlock(&q->lock);
    return r;
}

static void bq_close(struct bq *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = 1;
    pthread_cond_broadcast(&q->nonempty);
    pthread_mutex_unlock(&q->lock);
}

/* ---------------------------------------------------------------------- */
/* Simulated backends: cache, database and its connection pool, gateway   */
/* ---------------------------------------------------------------------- */

struct cart {
    uint32_t n;
    struct { uint32_t product, qty; } item[MAX_ITEMS];
};

struct centry {
    uint64_t key, expires;
    unsigned char val[sizeof(struct cart)];
};

/* A direct-mapped cache with a TTL, standing in for Redis. */
static struct {
    pthread_mutex_t lock;
    struct centry e[CACHE_SLOTS];
} cache = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* A database with a fixed pool of connections. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    int free;
} dbpool = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 1 };

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdu;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53u;
    return x ^ (x >> 33);
}

#define CART_KEY(user) ((uint64_t)(user))
#define PRICE_KEY(product) ((1ull << 32) | (product))

/* Redis round trip (~25 us); 1 in 8 calls is recorded, which is plenty for
 * an operation that runs several times per request. */
static int cache_get(uint64_t key, void *val, size_t len)
{
    QPULSE_SAMPLED_SCOPE(ecommerce, CacheGet, 8);
    ex_delay_ns(ex_lognormal_ns(25000, 0.3));
    struct centry *e = &cache.e[mix64(key) % CACHE_SLOTS];
    int hit = 0;
    pthread_mutex_lock(&cache.lock);
    if (e->key == key && e->expires > ex_now_ns()) {
        memcpy(val, e->val, len);
        hit = 1;
    }
    pthread_mutex_unlock(&cache.lock);
    return hit;
}

static void cache_set(uint64_t key, const void *val, size_t len)
{
    ex_delay_ns(ex_lognormal_ns(30000, 0.3));
    struct centry *e = &cache.e[mix64(key) % CACHE_SLOTS];
    pthread_mutex_lock(&cache.lock);
    e->key = key;
    e->expires = ex_now_ns() + CACHE_TTL_NS;
    memcpy(e->val, val, len);
    pthread_mutex_unlock(&cache.lock);
}

/* SELECT the user's cart: its content is a function of the user. */
static void db_read_cart(uint32_t user, struct cart *c)
{
    ex_delay_ns(ex_lognormal_ns(150000, 0.5));
    uint64_t h = mix64(user);
    c->n = 1 + (uint32_t)(h % MAX_ITEMS);
    for (uint32_t i = 0; i < c->n; i++) {
        h = mix64(h);
        c->item[i].product = (uint32_t)(h % NPRODUCTS);
        c->item[i].qty = 1 + (uint32_t)(h >> 40) % 3;
    }
}

static uint32_t db_read_stock(uint32_t product)
{
    ex_delay_ns(ex_lognormal_ns(60000, 0.4));
    /* One read in a hundred finds the shelf empty. */
    return ex_uniform() < 0.01 ? 0 : 1 + (uint32_t)(mix64(product) % 100);
}

static uint32_t db_read_price(uint32_t product)
{
    ex_delay_ns(ex_lognormal_ns(120000, 0.4));
    return 199 + (uint32_t)(mix64(product ^ 0xabcdu) % 50000);   /* cents */
}

static void dbpool_acquire(void)
{
    QPULSE_SCOPE(ecommerce, DatabasePoolWait);
    pthread_mutex_lock(&dbpool.lock);
    while (dbpool.free == 0)
        pthread_cond_wait(&dbpool.freed, &dbpool.lock);
    dbpool.free--;
    pthread_mutex_unlock(&dbpool.lock);
}

static void dbpool_release(void)
{
    pthread_mutex_lock(&dbpool.lock);
    dbpool.free++;
    pthread_cond_signal(&dbpool.freed);
    pthread_mutex_unlock(&dbpool.lock);
}

/* INSERT the order.  The timer is paused while waiting for a connection:
 * DatabaseWrite is the database's time, DatabasePoolWait is ours.  A failed
 * write (a serialization failure, 1 in 200) is discarded, not recorded. */
static int db_write_order(uint64_t order_id, uint32_t total_cents)
{
    qpulse_timer_t t = QPULSE_TIMER_START(ecommerce, DatabaseWrite);
    qpulse_timer_pause(&t);
    dbpool_acquire();
    qpulse_timer_resume(&t);
    ex_delay_ns(ex_lognormal_ns(350000, 0.45));
    int failed = ex_uniform() < 0.005;
    dbpool_release();
    if (failed) {
        qpulse_timer_discard(&t);
        return -EAGAIN;
    }
    qpulse_timer_stop(&t);
    return 0;
}

/* The card network: slow, and now and then very slow.  2 % are declined. */
static int charge(uint32_t user, uint32_t cents)
{
    QPULSE_SCOPE(ecommerce, PaymentProcessing);
    uint64_t ns = ex_lognormal_ns(1500000, 0.4);
    if (ex_uniform() < 0.005)
        ns *= 4;
    ex_delay_ns(ns);
    return ex_uniform() < 0.02 ? -EACCES : 0;
}

/* ---------------------------------------------------------------------- */
/* The API server                                                          */
/* ---------------------------------------------------------------------- */

struct request {
    uint64_t id, accepted_ns;
    uint32_t user;
    char token[48];
};

struct mail_job {
    uint64_t order_id;
    qpulse_timer_t timer;     /* started by the worker, stopped by the mailer */
};

struct worker {
    pthread_t thread;
    struct bq *requests, *mail;
    unsigned long ok, failed, mails_dropped;
};

static const char token_secret[] = "qpulse-demo-signing-key";

static uint64_t token_sign(uint32_t user)
{
    /* A keyed hash, iterated like a cheap HMAC: real work of a few us. */
    uint64_t h = 0xcbf29ce484222325u ^ user;
    for (int round = 0; round < 64; round++)
        for (const char *p = token_secret; *p; p++)
            h = (h ^ (unsigned char)*p) * 0x100000001b3u;
    return h;
}

static void token_make(char *buf, size_t len, uint32_t user)
{
    uint64_t sig = token_sign(user);
    if (ex_uniform() < 0.005)      /* an expired or forged token */
        sig ^= 1;
    snprintf(buf, len, "u%u.%016llx", user, (unsigned long long)sig);
}

static int token_valid(const char *token, uint32_t user)
{
    unsigned u;
    unsigned long long sig;
    if (sscanf(token, "u%u.%16llx", &u, &sig) != 2 || u != user)
        return 0;
    return sig == token_sign(user);
}

static void load_cart(uint32_t user, struct cart *c)
{
    if (cache_get(CART_KEY(user), c, sizeof *c))
        return;
    QPULSE_PROFILE(ecommerce, DatabaseRead, db_read_cart(user, c));
    QPULSE_PROFILE(ecommerce, CacheSet, cache_set(CART_KEY(user), c, sizeof *c));
}

/* Every item's stock; an empty shelf ends the check (and the scope) early. */
static int check_inventory(const struct cart *c)
{
    QPULSE_SCOPE(ecommerce, InventoryCheck);
    for (uint32_t i = 0; i < c->n; i++) {
        uint32_t stock = QPULSE_PROFILE(ecommerce, DatabaseRead,
                                        db_read_stock(c->item[i].product));
        if (stock < c->item[i].qty)
            return -ENOENT;
    }
    return 0;
}

/* Unit prices (cached), volume discount, and the sales tax of the user's state. */
static uint32_t price_cart(const struct cart *c, uint32_t user)
{
    double subtotal = 0;
    for (uint32_t i = 0; i < c->n; i++) {
        uint32_t unit;
        uint64_t key = PRICE_KEY(c->item[i].product);
        if (!cache_get(key, &unit, sizeof unit)) {
            unit = QPULSE_PROFILE(ecommerce, DatabaseRead, db_read_price(c->item[i].product));
            QPULSE_PROFILE(ecommerce, CacheSet, cache_set(key, &unit, sizeof unit));
        }
        subtotal += (double)unit * c->item[i].qty;
    }
    double discount = subtotal > 100000 ? 0.05 : subtotal > 50000 ? 0.02 : 0;
    double tax = 0.04 + (double)(user % 50) * 0.001;
    return (uint32_t)lround(subtotal * (1 - discount) * (1 + tax));
}

/* Queues the confirmation mail; the mailer stops the timer once it is sent. */
static void send_confirmation(struct worker *w, uint64_t order_id)
{
    struct mail_job job = { order_id, QPULSE_TIMER_START(ecommerce, EmailNotification) };
    if (bq_push(w->mail, &job) < 0) {
        /* Mailer backlog: the mail is dropped, and so is its timing. */
        qpulse_timer_discard(&job.timer);
        w->mails_dropped++;
    }
}

/* POST /orders; returns an HTTP status.  The scopes called from here nest
 * under HandleOrder; the manual DatabaseWrite timer names HandleOrder as its
 * parent but is not on the scope stack, so its time stays in HandleOrder's
 * self time. */
static int handle_order(struct worker *w, const struct request *rq)
{
    QPULSE_SCOPE(ecommerce, HandleOrder);
    if (!QPULSE_PROFILE(ecommerce, TokenValidation, token_valid(rq->token, rq->user)))
        return 401;
    struct cart cart;
    load_cart(rq->user, &cart);
    if (check_inventory(&cart) < 0)
        return 409;
    uint32_t total = QPULSE_PROFILE(ecommerce, Pricing, price_cart(&cart, rq->user));
    if (db_write_order(rq->id, total) < 0)
        return 503;
    if (charge(rq->user, total) < 0)
        return 402;
    send_confirmation(w, rq->id);
    return 201;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct request rq;
    while (bq_pop(w->requests, &rq) == 0) {
        /* Measured across threads: accepted by main, picked up here. */
        QPULSE_RECORD(ecommerce, QueueWait, ex_now_ns() - rq.accepted_ns);
        if (handle_order(w, &rq) == 201)
            w->ok++;
        else
            w->failed++;
    }
    return NULL;
}

struct mailer {
    pthread_t thread;
    struct bq *mail;
    unsigned long sent;
};

static void *mailer_main(void *arg)
{
    struct mailer *m = arg;
    struct mail_job job;
    while (bq_pop(m->mail, &job) == 0) {
        ex_delay_ns(ex_lognormal_ns(400000, 0.5));   /* SMTP hand-off */
        /* A timer started on a worker thread, stopped here. */
        qpulse_timer_stop(&job.timer);
        m->sent++;
    }
    return NULL;
}

/* ---------------------------------------------------------------------- */
/* Main: options, the accept loop, shutdown                                */
/* ---------------------------------------------------------------------- */

struct options {
    double seconds, rate, threads, db_pool;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: ecommerce [SECONDS] [--rate N] [--threads N] [--db-pool N]\n"
               "  SECONDS      how long to run (default 10)\n"
               "  --rate N     requests per second, Poisson arrivals (default 300)\n"
               "  --threads N  worker threads (default 4, at most %d)\n"
               "  --db-pool N  database connections shared by the workers (default 1)\n",
            MAX_THREADS);
}

/* Accepts requests until the time is up or a signal comes; returns how many
 * were turned away because every worker was busy and the queue was full. */
static unsigned long accept_loop(const struct options *o, struct bq *requests,
                                 unsigned long *accepted)
{
    unsigned long refused = 0;
    uint64_t t0 = ex_now_ns(), end = t0 + (uint64_t)(o->seconds * 1e9);
    double next = (double)t0;
    for (uint64_t now = t0; now < end && !ex_stop_requested(); now = ex_now_ns()) {
        if ((uint64_t)next > now) {
            ex_sleep_until((uint64_t)next < end ? (uint64_t)next : end);
            continue;
        }
        next += -log(1.0 - ex_uniform()) * 1e9 / o->rate;
        struct request rq = { *accepted + refused + 1, now, (uint32_t)(ex_rand() % NUSERS), "" };
        /* Four users in five are regulars whose cart is likely cached. */
        if (ex_uniform() < 0.8)
            rq.user %= 500;
        token_make(rq.token, sizeof rq.token, rq.user);
        if (bq_push(requests, &rq) == 0)
            (*accepted)++;
        else
            refused++;
    }
    return refused;
}

int main(int argc, char **argv)
{
    struct options opt = { 10, 300, 4, 1 };
    const struct ex_opt opts[] = {
        { "rate", 'r', &opt.rate, 1e6, 0, NULL },
        { "threads", 't', &opt.threads, MAX_THREADS, 1, NULL },
        { "db-pool", 'p', &opt.db_pool, 1000, 1, NULL },
    };
    ex_parse_args(argc, argv, opts, sizeof opts / sizeof opts[0], &opt.seconds, usage);
    ex_init("ecommerce");
    dbpool.free = (int)opt.db_pool;

    struct bq requests, mail;
    if (bq_init(&requests, sizeof(struct request), 256) < 0 ||
        bq_init(&mail, sizeof(struct mail_job), 64) < 0) {
        fprintf(stderr, "ecommerce: out of memory\n");
        return 1;
    }
    int nthreads = (int)opt.threads;
    struct worker workers[MAX_THREADS];
    struct mailer mailer = { .mail = &mail };
    int started = 0, r = pthread_create(&mailer.thread, NULL, mailer_main, &mailer);
    int mailer_ok = r == 0;
    for (; r == 0 && started < nthreads; started++) {
        workers[started] = (struct worker){ .requests = &requests, .mail = &mail };
        r = pthread_create(&workers[started].thread, NULL, worker_main, &workers[started]);
        if (r != 0)
            break;
    }
    if (r != 0)
        fprintf(stderr, "ecommerce: pthread_create: %s\n", strerror(r));

    uint64_t t0 = ex_now_ns();
    unsigned long accepted = 0, refused = 0;
    if (r == 0)
        refused = accept_loop(&opt, &requests, &accepted);

    /* Workers finish what was accepted, then the mailer sends what is queued. */
    bq_close(&requests);
    unsigned long ok = 0, failed = 0, dropped_mail = 0;
    for (int i = 0; i < started; i++) {
        pthread_join(workers[i].thread, NULL);
        ok += workers[i].ok;
        failed += workers[i].failed;
        dropped_mail += workers[i].mails_dropped;
    }
    bq_close(&mail);
    if (mailer_ok)
        pthread_join(mailer.thread, NULL);
    bq_destroy(&requests);
    bq_destroy(&mail);

    printf("ecommerce: requests=%lu ok=%lu failed=%lu refused=%lu mails=%lu mails_dropped=%lu "
           "threads=%d seconds=%.2f recorded=%llu dropped=%llu\n",
           accepted, ok, failed, refused, mailer.sent, dropped_mail, nthreads,
           (double)(ex_now_ns() - t0) / 1e9,
           (unsigned long long)qpulse_recorded(), (unsigned long long)qpulse_dropped());
    return r == 0 ? 0 : 1;
}
