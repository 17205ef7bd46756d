/*
 * fuzz_state.c — libFuzzer target for qpulsed's --state parser
 * (daemon/state.c): any bytes are refused with a reason or parsed into
 * processes; what parses is written back and must parse again to the same
 * bytes.  Half the inputs get a correct payload length and checksum first,
 * so that mutations reach the parser behind them.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct proc *list = NULL;
    char err[256];
    uint8_t *fixed = NULL;
    if (size > STATE_HEADER_SIZE && (data[size - 1] & 1) && (fixed = malloc(size))) {
        memcpy(fixed, data, size);
        uint64_t plen = size - STATE_HEADER_SIZE;
        uint64_t sum = state_checksum(fixed + STATE_HEADER_SIZE, plen);
        memcpy(fixed + 24, &plen, 8);
        memcpy(fixed + 32, &sum, 8);
        data = fixed;
    }
    int r = state_parse(data, size, NULL, &list, err, sizeof err);
    free(fixed);
    if (r < 0) {
        if (list || !memchr(err, 0, sizeof err))
            abort();
        return 0;
    }
    uint8_t *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    if (state_serialize(list, "fuzz", 0, 0, &a, &alen) < 0)
        abort();
    state_free_list(list);
    list = NULL;
    if (state_parse(a, alen, "fuzz", &list, err, sizeof err) < 0)
        abort();   /* what we write we must read */
    if (state_serialize(list, "fuzz", 0, 0, &b, &blen) < 0)
        abort();
    if (alen != blen || memcmp(a, b, alen))
        abort();
    state_free_list(list);
    free(a);
    free(b);
    return 0;
}
