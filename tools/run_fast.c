/*
 * run_fast.c — `qpulse run` before the C library starts.
 *
 * `qpulse run CMD` costs CMD one more program start: qpulse's own.  In a
 * static glibc program most of that start is the C library's
 * initialisation — on x86 it enumerates the caches with dozens of CPUID
 * instructions, and under a hypervisor each one traps (about 1.3 us on the
 * 2-core VM of bench/bench_start: some 170 us a start, more than the whole
 * rest of qpulse's work).  `qpulse run` needs none of the library: it reads
 * its arguments and the environment, looks for the preload library and the
 * daemon, and execs.  So the static qpulse's entry point is qp_run_entry
 * below: for the usual forms of `qpulse run` it does that work with raw
 * system calls and execs the command; for anything else (another
 * subcommand, --help, a value it does not accept as is, a command it
 * cannot exec) it jumps to the C library's _start with the stack as the
 * kernel left it, and main() does what it always did, error messages
 * included.  A failed execve() has no effect, so main() can try again.
 *
 * Freestanding code: no C library call (not even one the compiler would
 * insert: memcpy, memset, strlen), no stack protector (its canary lives in
 * thread-local storage, which is not set up yet), no global that needs a
 * relocation (no tables of pointers).  Only built for x86-64 with the
 * static qpulse (configure: RUN_FAST).
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "layout.h"
#include "tools.h"

#ifndef QP_PRELOAD_INSTALLED
#define QP_PRELOAD_INSTALLED "/usr/local/lib/libqpulse-preload.so"
#endif

/* Every function here: no stack protector, no loops turned into calls. */
#define QF static __attribute__((no_stack_protector, optimize("no-tree-loop-distribute-patterns")))

/* Set when the warning that no daemon runs is already on stderr (main()
 * must not print it twice).  In .bss: zero before the C library runs. */
int qp_run_fast_warned;

enum { SYS_READ = 0, SYS_WRITE = 1, SYS_CLOSE = 3, SYS_PREAD = 17, SYS_ACCESS = 21,
       SYS_GETPID = 39, SYS_EXECVE = 59, SYS_KILL = 62, SYS_GETCWD = 79, SYS_READLINK = 89,
       SYS_OPENAT = 257 };
enum { AUX_EXECFN = 31 };
enum { F_RDONLY = 0, F_NOFOLLOW = 0400000, F_CLOEXEC = 02000000, F_ATCWD = -100,
       F_R_OK = 4 };
enum { E_NOENT = 2, E_SRCH = 3, E_ACCES = 13, E_NOTDIR = 20, E_NODEV = 19, E_STALE = 116,
       E_TIMEDOUT = 110 };
#define BUF 4096

QF long sys4(long n, long a, long b, long c, long d)
{
    long r;
    register long r10 __asm__("r10") = d;
    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
                     : "rcx", "r11", "memory");
    return r;
}

QF size_t len(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

QF int eq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

/* s starts with p: the rest of s, else NULL. */
QF const char *after(const char *s, const char *p)
{
    while (*p)
        if (*s++ != *p++)
            return NULL;
    return s;
}

/* Appends s to buf (*at its length); 0, or -1 when it would not fit. */
QF int cat(char *buf, size_t cap, size_t *at, const char *s, size_t n)
{
    if (*at + n + 1 > cap)
        return -1;
    for (size_t i = 0; i < n; i++)
        buf[*at + i] = s[i];
    *at += n;
    buf[*at] = 0;
    return 0;
}

QF int cats(char *buf, size_t cap, size_t *at, const char *s)
{
    return cat(buf, cap, at, s, len(s));
}

/* The value of NAME in envp, NULL when absent (the first one, as getenv). */
QF const char *env(char **envp, const char *name)
{
    for (; *envp; envp++) {
        const char *v = after(*envp, name);
        if (v && *v == '=')
            return v + 1;
    }
    return NULL;
}

/* s contains sub. */
QF int contains(const char *s, const char *sub)
{
    for (; *s; s++) {
        size_t k = 0;
        while (sub[k] && s[k] == sub[k])
            k++;
        if (!sub[k])
            return 1;
    }
    return !*sub;
}

/* v in decimal into buf (room for 24). */
QF void decimal(char *buf, uint64_t v)
{
    char d[24];
    int n = 0;
    do
        d[n++] = (char)('0' + v % 10);
    while (v /= 10);
    for (int k = 0; k < n; k++)
        buf[k] = d[n - 1 - k];
    buf[n] = 0;
}

/* As qp_ns_valid(). */
QF int ns_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-') || n >= QP_NS_MAX)
            return 0;
    }
    return n > 0;
}

/* As qp_hooks_parse() accepting s (empty items are tolerated). */
QF int hooks_ok(const char *s)
{
    static const char names[][8] = { "mem", "lock", "io", "net", "fs", "all", "none", "default" };
    while (*s) {
        size_t n = 0;
        while (s[n] && s[n] != ',')
            n++;
        if (n > 0) {
            int found = 0;
            for (size_t i = 0; i < sizeof names / sizeof names[0] && !found; i++) {
                size_t k = 0;
                while (k < n && names[i][k] == s[k])
                    k++;
                found = k == n && names[i][k] == 0;
            }
            if (!found)
                return 0;
        }
        s += n;
        if (*s == ',')
            s++;
    }
    return 1;
}

QF uint64_t num(const char *s, const char **end)
{
    uint64_t v = 0;
    while (*s >= '0' && *s <= '9')
        v = v * 10 + (uint64_t)(*s++ - '0');
    *end = s;
    return v;
}

/* As qp_daemon_running(): the daemon's record names a live process with its
 * start time. */
QF int daemon_running(const char *ns)
{
    char path[BUF];
    size_t at = 0;
    if (cats(path, sizeof path, &at, "/dev/shm" QP_SHM_PREFIX) || cats(path, sizeof path, &at, ns) ||
        cats(path, sizeof path, &at, ".daemon"))
        return 0;
    long fd = sys4(SYS_OPENAT, F_ATCWD, (long)path, F_RDONLY | F_NOFOLLOW | F_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    struct qp_daemon_rec rec;
    long n = sys4(SYS_PREAD, fd, (long)&rec, sizeof rec, 0);
    sys4(SYS_CLOSE, fd, 0, 0, 0);
    if (n != (long)sizeof rec || rec.magic != QP_DAEMON_MAGIC || rec.pid <= 0)
        return 0;
    if (sys4(SYS_KILL, rec.pid, 0, 0, 0) == -E_SRCH)
        return 0;
    /* /proc/<pid>/stat: alive (not a zombie) with the recorded start time;
     * the fields after the command name follow its last ')'. */
    char digits[24];
    int nd = 0;
    for (uint32_t p = (uint32_t)rec.pid; p; p /= 10)
        digits[nd++] = (char)('0' + p % 10);
    at = 0;
    if (cats(path, sizeof path, &at, "/proc/"))
        return 0;
    while (nd)
        path[at++] = digits[--nd];
    path[at] = 0;
    if (cats(path, sizeof path, &at, "/stat"))
        return 0;
    fd = sys4(SYS_OPENAT, F_ATCWD, (long)path, F_RDONLY | F_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    char st[1024];
    n = sys4(SYS_READ, fd, (long)st, sizeof st - 1, 0);
    sys4(SYS_CLOSE, fd, 0, 0, 0);
    if (n <= 0)
        return 0;
    st[n] = 0;
    const char *p = NULL;
    for (long i = 0; i < n; i++)
        if (st[i] == ')')
            p = st + i;
    if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
        return 0;
    p++;
    for (int field = 3; field < 22 && p; field++) {
        do
            p++;
        while (*p && *p != ' ');
        if (!*p)
            return 0;
    }
    const char *end;
    return !rec.start_time || num(p + 1, &end) == rec.start_time;
}

/* The build tree's preload library into buf when dir (a directory,
 * NUL-terminated, n bytes) is a build tree's tools/ or tools/.libs/ and the
 * library is there; 0, else -1 (dir is cut). */
QF int build_tree_preload(char *dir, long n, char *buf, size_t cap)
{
    static const char sfx1[] = "/tools/.libs", sfx2[] = "/tools";
    long top = -1;
    if (n >= (long)sizeof sfx1 - 1 && eq(dir + n - (sizeof sfx1 - 1), sfx1))
        top = n - (long)(sizeof sfx1 - 1);
    else if (n >= (long)sizeof sfx2 - 1 && eq(dir + n - (sizeof sfx2 - 1), sfx2))
        top = n - (long)(sizeof sfx2 - 1);
    if (top < 0)
        return -1;
    dir[top] = 0;
    size_t at = 0;
    if (cats(buf, cap, &at, dir) || cats(buf, cap, &at, "/preload/.libs/libqpulse-preload.so") ||
        sys4(SYS_ACCESS, (long)buf, F_R_OK, 0, 0) != 0)
        return -1;
    return 0;
}

/* build_tree_preload() for the directory of path (n bytes, cut). */
QF int preload_beside(char *path, long n, char *buf, size_t cap)
{
    while (n > 0 && path[n - 1] != '/')
        n--;
    if (n <= 0)
        return -1;
    path[--n] = 0;   /* the directory */
    return build_tree_preload(path, n, buf, cap);
}

/* The words for LD_PRELOAD, as find_preload() in cmd_run.c: the build
 * tree's, else the installed one ($QPULSE_PRELOAD is left to main()).
 * The build tree is looked for first where execve() was told qpulse is
 * (AT_EXECFN, made absolute): a readlink of /proc/self/exe costs a fresh
 * process 20-40 us, so it is asked only when that path is not in a build
 * tree (a symbolic link to one, or an installed qpulse). */
QF int find_preload(char *buf, size_t cap, const char *execfn)
{
    char self[BUF];
    size_t at = 0;
    if (execfn) {
        if (execfn[0] != '/') {
            long c = sys4(SYS_GETCWD, (long)self, sizeof self, 0, 0);
            if (c > 0 && self[0] == '/')
                at = len(self);
            if (at && cats(self, sizeof self, &at, "/"))
                at = 0;
        }
        if ((execfn[0] == '/' || at) && !cats(self, sizeof self, &at, execfn) &&
            preload_beside(self, (long)at, buf, cap) == 0)
            return 0;
        at = 0;
    }
    long n = sys4(SYS_READLINK, (long)"/proc/self/exe", (long)self, sizeof self - 1, 0);
    if (n > 0 && n < (long)sizeof self - 1) {
        self[n] = 0;
        if (preload_beside(self, n, buf, cap) == 0)
            return 0;
    }
    if (sys4(SYS_ACCESS, (long)QP_PRELOAD_INSTALLED, F_R_OK, 0, 0) != 0)
        return -1;
    return cats(buf, cap, &at, QP_PRELOAD_INSTALLED);
}

/* Sets NAME=value in the environment being built (replacing the first NAME,
 * as setenv() does, else appended).  e has room for one more. */
QF int put(char **e, size_t *n, const char *name, char *entry)
{
    for (size_t i = 0; i < *n; i++) {
        const char *v = after(e[i], name);
        if (v && *v == '=') {
            e[i] = entry;
            return 0;
        }
    }
    e[(*n)++] = entry;
    e[*n] = NULL;
    return 0;
}

/* Removes every NAME=... from the environment being built. */
QF void drop(char **e, size_t *n, const char *name)
{
    size_t k = 0;
    for (size_t i = 0; i < *n; i++) {
        const char *v = after(e[i], name);
        if (!(v && *v == '='))
            e[k++] = e[i];
    }
    *n = k;
    e[k] = NULL;
}

QF void say(const char *s)
{
    long r = sys4(SYS_WRITE, 2, (long)s, (long)len(s), 0);
    (void)r;
}

/* Called with the initial stack; returns only to let main() do the work. */
__attribute__((used, no_stack_protector, optimize("no-tree-loop-distribute-patterns")))
void qp_run_fast(long *sp)
{
    long argc = sp[0];
    char **argv = (char **)(sp + 1);
    char **envp = argv + argc + 1;
    const char *execfn = NULL;
    {
        char **a = envp;
        while (*a)
            a++;
        for (long *aux = (long *)(a + 1); aux[0]; aux += 2)
            if (aux[0] == AUX_EXECFN)
                execfn = (const char *)aux[1];
    }
    if (argc < 3 || !eq(argv[1], "run"))
        return;
    const char *hooks = NULL, *ns = NULL;
    long i;
    for (i = 2; i < argc; i++) {
        const char *a = argv[i], *v;
        if (eq(a, "--")) {
            i++;
            break;
        }
        if (a[0] != '-')
            break;
        if (eq(a, "--hooks") || eq(a, "--ns")) {
            if (i + 1 >= argc)
                return;
            v = argv[++i];
        } else if ((v = after(a, "--hooks=")) || (v = after(a, "--ns="))) {
            /* the value follows '=' */
        } else {
            return;   /* --help, an unknown option: main() answers */
        }
        if (a[2] == 'h')
            hooks = v;
        else
            ns = v;
    }
    if (i >= argc || (hooks && !hooks_ok(hooks)))
        return;
    if (!ns) {
        ns = env(envp, "QPULSE_NS");
        if (!ns || !*ns)
            ns = QP_DEFAULT_NS;
    }
    if (!ns_ok(ns))
        return;
    const char *pre = env(envp, "QPULSE_PRELOAD");
    if (pre && *pre)
        return;
    char lib[2 * BUF + 32];
    if (find_preload(lib, sizeof lib, execfn) < 0)
        return;

    /* The new environment: LD_PRELOAD with ours first, QPULSE_NS,
     * QPULSE_HOOKS when given, and QPULSE__FIRST_IMAGE as first_image() in
     * cmd_run.c decides. */
    size_t n = 0;
    while (envp[n])
        n++;
    if (n > 100000)
        return;
    char *e[n + 5];
    for (size_t k = 0; k <= n; k++)
        e[k] = envp[k];
    const char *old = env(envp, "LD_PRELOAD");
    size_t cap = sizeof lib + (old ? len(old) : 0) + 32, at = 0;
    char ld[cap], nsv[QP_NS_MAX + 16], hv[hooks ? len(hooks) + 16 : 1];
    if (cats(ld, cap, &at, "LD_PRELOAD=") || cats(ld, cap, &at, lib) ||
        (old && *old && (cats(ld, cap, &at, " ") || cats(ld, cap, &at, old))))
        return;
    at = 0;
    if (cats(nsv, sizeof nsv, &at, "QPULSE_NS=") || cats(nsv, sizeof nsv, &at, ns))
        return;
    char fv[sizeof QP_ENV_FIRST_IMAGE + 24], pid[24];
    decimal(pid, (uint64_t)sys4(SYS_GETPID, 0, 0, 0, 0));
    const char *mark = env(envp, QP_ENV_FIRST_IMAGE);
    if (!old || (!contains(old, "qpulse") && !contains(old, lib)) || (mark && eq(mark, pid))) {
        at = 0;
        if (cats(fv, sizeof fv, &at, QP_ENV_FIRST_IMAGE "=") || cats(fv, sizeof fv, &at, pid))
            return;
        put(e, &n, QP_ENV_FIRST_IMAGE, fv);
    } else {
        drop(e, &n, QP_ENV_FIRST_IMAGE);
    }
    put(e, &n, "LD_PRELOAD", ld);
    put(e, &n, "QPULSE_NS", nsv);
    if (hooks) {
        at = 0;
        if (cats(hv, sizeof hv, &at, "QPULSE_HOOKS=") || cats(hv, sizeof hv, &at, hooks))
            return;
        put(e, &n, "QPULSE_HOOKS", hv);
    }

    if (!daemon_running(ns)) {
        char w[3 * BUF];
        at = 0;
        if (cats(w, sizeof w, &at, "qpulse run: warning: no qpulsed runs in namespace '") ||
            cats(w, sizeof w, &at, ns) || cats(w, sizeof w, &at, "'; the samples are lost when ") ||
            cats(w, sizeof w, &at, argv[i]) ||
            cats(w, sizeof w, &at, " exits (start one with: qpulsed --ns ") ||
            cats(w, sizeof w, &at, ns) || cats(w, sizeof w, &at, ")\n"))
            return;
        say(w);
        qp_run_fast_warned = 1;
    }

    /* execvp(): a name with a slash as is, else each directory of PATH
     * (the C library's default when unset); a failure other than "not
     * there" or "not allowed" ends the search, and main() reports it. */
    const char *file = argv[i];
    for (const char *s = file; *s; s++)
        if (*s == '/') {
            sys4(SYS_EXECVE, (long)file, (long)(argv + i), (long)e, 0);
            return;
        }
    const char *path = env(envp, "PATH");
    if (!path)
        path = "/bin:/usr/bin";
    for (const char *d = path;;) {
        const char *c = d;
        while (*c && *c != ':')
            c++;
        char full[BUF];
        at = 0;
        if (c > d && (cat(full, sizeof full, &at, d, (size_t)(c - d)) || cats(full, sizeof full, &at, "/")))
            return;
        if (cats(full, sizeof full, &at, file))
            return;
        long r = sys4(SYS_EXECVE, (long)full, (long)(argv + i), (long)e, 0);
        if (r != -E_NOENT && r != -E_ACCES && r != -E_NOTDIR && r != -E_NODEV && r != -E_STALE &&
            r != -E_TIMEDOUT)
            return;
        if (!*c)
            return;
        d = c + 1;
    }
}

/* The entry point: qp_run_fast() on the initial stack, then the C
 * library's _start on that same stack (rdx = 0, as the kernel leaves it:
 * no dynamic linker's finaliser). */
__asm__(".text\n"
        ".globl qp_run_entry\n"
        ".type qp_run_entry, @function\n"
        "qp_run_entry:\n"
        "    endbr64\n"
        "    mov %rsp, %r12\n"
        "    mov %rsp, %rdi\n"
        "    and $-16, %rsp\n"
        "    call qp_run_fast\n"
        "    mov %r12, %rsp\n"
        "    xor %edx, %edx\n"
        "    jmp _start\n"
        ".size qp_run_entry, .-qp_run_entry\n");
