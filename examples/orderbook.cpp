/*
 * orderbook.cpp — qpulse from C++: a limit order book that matches a stream
 * of random orders.
 *
 * It shows the C++ side of qpulse.h:
 *   - QPULSE_SCOPE as an RAII object (Match, and Reject, whose scope is left
 *     by an exception and still recorded once, nested in Submit);
 *   - QPULSE_PROFILE on a move-only result (ParseOrder returns a
 *     std::unique_ptr) and on a reference (BookSide);
 *   - qpulse::timer, an RAII manual timer that is paused, moved and stopped
 *     by its destructor (Settlement);
 *   - QPULSE_SAMPLED_SCOPE on a hot path (Audit, one call in 16).
 *
 *   orderbook [SECONDS]       (default 3; SIGINT/SIGTERM end it early)
 * Prints one summary line: orders, trades, rejected, recorded, dropped.
 */
#include <qpulse.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>

#define BOOK_OPS(X)                                                              \
    X(ParseOrder, "ingress", "Decoding an order message", 1)                     \
    X(Submit,     "matching", "Validating and entering an order", 1)             \
    X(BookSide,   "matching", "Choosing the side of the book", 2)                \
    X(Match,      "matching", "Crossing an order against the book", 1)           \
    X(Reject,     "matching", "Refusing an invalid order", 3)                    \
    X(Settlement, "post",     "Settling the trades of an order", 2)              \
    X(Audit,      "post",     "Appending to the audit trail (1 in 16)", 3)

QPULSE_DECLARE_SET(orderbook, BOOK_OPS)
QPULSE_DEFINE_SET(orderbook, BOOK_OPS)

namespace {

struct Order {
    bool buy;
    long price;   /* ticks */
    long qty;
};

using Side = std::map<long, long>;   /* price -> quantity */

struct Book {
    Side bids, asks;
    long trades = 0;
};

std::atomic<bool> stop{false};

void on_signal(int)
{
    stop = true;
}

std::unique_ptr<Order> parse(std::mt19937 &rng)
{
    std::uniform_int_distribution<long> price(990, 1010), qty(-5, 100);
    std::unique_ptr<Order> o(new Order{rng() % 2 == 0, price(rng), qty(rng)});
    return o;
}

long match(Book &b, Order &o)
{
    QPULSE_SCOPE(orderbook, Match);
    Side &opp = QPULSE_PROFILE(orderbook, BookSide, o.buy ? b.asks : b.bids);
    long filled = 0;
    while (o.qty > 0 && !opp.empty()) {
        auto best = o.buy ? opp.begin() : std::prev(opp.end());
        if (o.buy ? best->first > o.price : best->first < o.price)
            break;
        long n = std::min(o.qty, best->second);
        o.qty -= n;
        best->second -= n;
        filled += n;
        b.trades++;
        if (best->second == 0)
            opp.erase(best);
    }
    if (o.qty > 0)
        (o.buy ? b.bids : b.asks)[o.price] += o.qty;
    return filled;
}

void validate(const Order &o)
{
    if (o.qty <= 0) {
        QPULSE_SCOPE(orderbook, Reject);
        throw std::invalid_argument("quantity must be positive");
    }
}

long submit(Book &b, Order &o)
{
    QPULSE_SCOPE(orderbook, Submit);
    validate(o);   /* may throw: Submit and Reject are recorded all the same */
    return match(b, o);
}

void audit(long filled)
{
    QPULSE_SAMPLED_SCOPE(orderbook, Audit, 16);
    static volatile long trail;
    trail = trail + filled;
}

} // namespace

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? std::atof(argv[1]) : 3.0;
    if (argc > 2 || seconds <= 0) {
        std::fprintf(stderr, "usage: orderbook [SECONDS]\n");
        return 2;
    }
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::mt19937 rng(42);
    Book book;
    long orders = 0, rejected = 0;
    auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (!stop && std::chrono::steady_clock::now() < end) {
        std::unique_ptr<Order> o = QPULSE_PROFILE(orderbook, ParseOrder, parse(rng));
        orders++;
        qpulse::timer settle = QPULSE_TIMER(orderbook, Settlement);
        long filled = 0;
        try {
            filled = submit(book, *o);
        } catch (const std::invalid_argument &) {
            rejected++;
            settle.discard();
            continue;
        }
        settle.pause();   /* the audit is not part of the settlement */
        audit(filled);
        settle.resume();
        qpulse::timer moved = std::move(settle);   /* stopped by its destructor */
        if (orders % 64 == 0)
            std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    std::printf("orderbook: orders=%ld trades=%ld rejected=%ld recorded=%llu dropped=%llu\n",
                orders, book.trades, rejected, (unsigned long long)qpulse_recorded(),
                (unsigned long long)qpulse_dropped());
    return 0;
}
