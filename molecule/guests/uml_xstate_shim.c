/*
 * Copyright (c) 2026 fleet.ipsec contributors
 * GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
/*
 * An LD_PRELOAD library for Debian 12's user-mode-linux (6.1um4): it lets UML restore a guest
 * process's FPU state on hosts whose XSTATE is larger than UML's fixed buffer (Intel CPUs with
 * AMX, whose tile data makes it about 11 KB; Debian's UML passes 2696 bytes, which reach to the
 * end of PKRU in Intel's layout).
 *
 * Why: UML saves and restores the FPU/SSE/AVX registers of the host processes that run its guest
 * processes with PTRACE_GETREGSET/PTRACE_SETREGSET and NT_X86_XSTATE, through a buffer whose size
 * was fixed when UML was compiled. Reading with a short buffer works (the kernel truncates), but
 * the host kernel's xstateregs_set() (arch/x86/kernel/fpu/regset.c) only accepts a write of the
 * complete standard-format XSAVE area:
 *
 *     if (pos != 0 || count != fpu_user_cfg.max_size)
 *             return -EFAULT;
 *
 * (ptrace_regset() first clips a longer iov_len to that size, so only a shorter one fails.) With
 * a buffer shorter than the host's full size, the first restore fails with EFAULT and UML kills
 * the guest's init: "userspace - ptrace set fp regs failed, errno = 14", "Attempted to kill
 * init! exitcode=0x0000000b". Hosts whose full size fits UML's buffer never see it.
 *
 * What: ptrace() is wrapped and every call is forwarded to the real one (dlsym RTLD_NEXT)
 * unchanged, except PTRACE_SETREGSET with NT_X86_XSTATE and an iov_len that holds at least the
 * legacy area and the XSAVE header but is shorter than the host's full size. For that call the
 * shim reads the target's complete XSTATE (PTRACE_GETREGSET), lays UML's buffer over its start,
 * and writes the full size back. If any of the shim's own steps fails (memory, the read), the
 * original call is forwarded as it was, so the shim can never do worse than UML without it; the
 * result of the full-size write, UML's data judged by the kernel, is what the caller gets.
 *
 * Why the overlay is safe (standard, i.e. uncompacted, format, which is what PTRACE_GETREGSET
 * hands out and PTRACE_SETREGSET takes):
 *   - bytes 0..511 are the legacy FXSAVE area (x87, MXCSR, XMM), bytes 512..575 the XSAVE header
 *     (xstate_bv, xcomp_bv, reserved), and each further component i sits at the fixed offset
 *     CPUID(0xD, i).EBX; so UML's prefix means the same at the same offsets in the full buffer.
 *   - The header is UML's, read by the kernel's own PTRACE_GETREGSET earlier: xcomp_bv and the
 *     reserved bytes are 0, and xstate_bv holds only features of the task's user set. That is
 *     what the kernel checks (validate_user_xstate_header: no bits outside the user features,
 *     xcomp_bv == 0, reserved == 0; and no reserved MXCSR bits), so UML's header passes as it did
 *     before, and anything the kernel would refuse from UML it still refuses.
 *   - Components that lie wholly beyond UML's buffer (e.g. AMX tiles, at 2752 and beyond) are
 *     the ones UML cannot save: their bytes come from the read just made, and their xstate_bv
 *     bits are taken from that read too (the kernel loads a component whose bit is set from the
 *     buffer, and resets one whose bit is clear to its init state; UML's header bit for such a
 *     component is stale, from whenever UML last read it). So the write leaves them exactly as
 *     the target has them now, and changes only what UML's buffer covers. Those bits come from
 *     the kernel's own read for this very task, so they are within its user features as well.
 *     (Not a detail: with UML's bit clear for PKRU, the kernel would set PKRU to 0, opening
 *     every protection key.) A component that straddles the end of UML's buffer keeps UML's
 *     bit (plain overlay).
 *
 * Cost: one extra PTRACE_GETREGSET and a heap buffer per restore that needs it; where UML's
 * buffer is long enough, a single GETREGSET to learn the size, then plain forwarding. Thread
 * safety: buffers are per call; the real ptrace and the full size are stored with atomics (every
 * caller finds the same values, so a race only repeats the work); the component table is filled
 * by a constructor, before the program has threads, and only read afterwards.
 */

#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif

#define LEGACY_SIZE 512      /* the FXSAVE area */
#define HEADER_SIZE 64       /* xstate_bv, xcomp_bv, 48 reserved bytes */
#define PROBE_SIZE (64 * 1024) /* more than any XSTATE so far (AMX: about 11 KB) */

typedef long (*ptrace_fn)(enum __ptrace_request, pid_t, void *, void *);

static ptrace_fn real_ptrace_fn;
static size_t full_size;      /* the kernel's user XSTATE size, 0 until first learnt */

/* Standard-format offsets of the user XSTATE components (CPUID leaf 0xD), read once at load. */
static uint32_t component_offset[64];
static uint64_t component_known; /* bits with an offset in component_offset */

static ptrace_fn real_ptrace(void)
{
    ptrace_fn fn = __atomic_load_n(&real_ptrace_fn, __ATOMIC_ACQUIRE);
    if (!fn) {
        fn = (ptrace_fn)dlsym(RTLD_NEXT, "ptrace");
        __atomic_store_n(&real_ptrace_fn, fn, __ATOMIC_RELEASE);
    }
    return fn;
}

__attribute__((constructor)) static void read_components(void)
{
#if defined(__x86_64__) || defined(__i386__)
    unsigned int eax, ebx, ecx, edx;
    uint64_t supported, known = 0;
    int i;

    /* Constructors run before the program's threads exist, so plain stores are enough here. */
    if (__get_cpuid_max(0, NULL) < 0xD || !__get_cpuid_count(0xD, 0, &eax, &ebx, &ecx, &edx))
        return;
    supported = ((uint64_t)edx << 32) | eax; /* the user (XCR0) components the CPU has */
    for (i = 2; i < 63; i++) {
        if (!(supported & (1ULL << i)) || !__get_cpuid_count(0xD, (unsigned int)i, &eax, &ebx, &ecx, &edx))
            continue;
        if (eax == 0 || ebx < LEGACY_SIZE + HEADER_SIZE)
            continue; /* no size or no fixed offset: leave this component to the plain overlay */
        component_offset[i] = ebx;
        known |= 1ULL << i;
    }
    component_known = known;
#endif
}

/* The xstate_bv bits of the components that start at or after `len`, i.e. that UML cannot hold. */
static uint64_t components_beyond(size_t len)
{
    uint64_t mask = 0;
    int i;

    for (i = 2; i < 63; i++)
        if ((component_known & (1ULL << i)) && component_offset[i] >= len)
            mask |= 1ULL << i;
    return mask;
}

/*
 * The target's full XSTATE into a new buffer of its real size (stored in *size), or NULL. The
 * first call learns the size with a PROBE_SIZE buffer: the kernel sets iov_len to what it wrote,
 * which is its full user XSTATE size; later calls read exactly that size.
 */
static unsigned char *read_full(ptrace_fn fn, pid_t pid, size_t *size)
{
    size_t known = __atomic_load_n(&full_size, __ATOMIC_RELAXED);
    size_t len = known ? known : PROBE_SIZE;
    unsigned char *buf = malloc(len);
    struct iovec iov;

    if (!buf)
        return NULL;
    iov.iov_base = buf;
    iov.iov_len = len;
    if (fn(PTRACE_GETREGSET, pid, (void *)(uintptr_t)NT_X86_XSTATE, &iov) != 0 ||
        iov.iov_len < LEGACY_SIZE + HEADER_SIZE || iov.iov_len > len) {
        free(buf);
        return NULL;
    }
    if (!known)
        __atomic_store_n(&full_size, iov.iov_len, __ATOMIC_RELAXED);
    *size = iov.iov_len;
    return buf;
}

/*
 * PTRACE_SETREGSET of UML's short buffer as a full-size write. Returns 1 with the real call's
 * result in *result when it made that write, 0 when the caller is to forward the original call.
 */
static int set_full(ptrace_fn fn, pid_t pid, const struct iovec *short_iov, long *result)
{
    size_t known = __atomic_load_n(&full_size, __ATOMIC_RELAXED);
    size_t len = short_iov->iov_len, size;
    uint64_t uml_bv, target_bv, beyond;
    unsigned char *buf;
    struct iovec iov;
    int saved_errno = errno;

    if (known && len >= known)
        return 0; /* long enough already: the kernel takes it as it is */
    buf = read_full(fn, pid, &size);
    if (!buf) {
        errno = saved_errno;
        return 0;
    }
    if (len >= size) {
        free(buf);
        errno = saved_errno;
        return 0;
    }
    memcpy(&target_bv, buf + LEGACY_SIZE, sizeof(target_bv));
    memcpy(buf, short_iov->iov_base, len);
    memcpy(&uml_bv, buf + LEGACY_SIZE, sizeof(uml_bv));
    beyond = components_beyond(len);
    uml_bv = (uml_bv & ~beyond) | (target_bv & beyond);
    memcpy(buf + LEGACY_SIZE, &uml_bv, sizeof(uml_bv));

    iov.iov_base = buf;
    iov.iov_len = size;
    errno = saved_errno;
    *result = fn(PTRACE_SETREGSET, pid, (void *)(uintptr_t)NT_X86_XSTATE, &iov);
    saved_errno = errno;
    free(buf);
    errno = saved_errno;
    return 1;
}

long ptrace(enum __ptrace_request request, ...)
{
    ptrace_fn fn = real_ptrace();
    va_list ap;
    pid_t pid;
    void *addr, *data;
    long result;

    va_start(ap, request);
    pid = va_arg(ap, pid_t);
    addr = va_arg(ap, void *);
    data = va_arg(ap, void *);
    va_end(ap);

    if (!fn) {
        errno = ENOSYS;
        return -1;
    }
    if (request == PTRACE_SETREGSET && (uintptr_t)addr == NT_X86_XSTATE && data) {
        const struct iovec *iov = data;
        /*
         * Only a buffer with UML's own header in it, in whole 8-byte units as the regset takes
         * them; anything else is forwarded, and refused by the kernel as before.
         */
        if (iov->iov_base && iov->iov_len >= LEGACY_SIZE + HEADER_SIZE && iov->iov_len % 8 == 0 &&
            set_full(fn, pid, iov, &result))
            return result;
    }
    return fn(request, pid, addr, data);
}
