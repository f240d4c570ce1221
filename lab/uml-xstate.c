/*
 * LD_PRELOAD shim for linux.uml (Debian's user-mode-linux 6.1) on hosts whose
 * CPU has a larger XSAVE area than UML's fixed buffer (2,696 bytes: x87, SSE,
 * AVX, AVX-512). With AMX the host kernel's area is 11,008 bytes, and since
 * Linux 5.14 PTRACE_SETREGSET NT_X86_XSTATE accepts only the whole area:
 * UML's first register restore fails with EFAULT ("ptrace set fp regs
 * failed, errno = 14") and init dies before it runs. Fixed upstream in later
 * UML kernels; the lab uses the Debian package, so it bridges the sizes here.
 *
 * GETREGSET reads the whole area and hands UML the part it asked for;
 * SETREGSET writes UML's part over the tracee's current whole area. The parts
 * beyond UML's buffer (AMX tiles) are never used by guest processes: the UML
 * kernel does not grant AMX (arch_prctl ARCH_REQ_XCOMP_PERM). Where the sizes
 * already match, every call passes through unchanged.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>

typedef long (*ptrace_fn)(int, pid_t, void *, void *);

/* Larger than any x86 XSAVE area; UML calls ptrace from one thread. */
static char whole[65536] __attribute__((aligned(64)));

long ptrace(enum __ptrace_request req, ...) {
  static ptrace_fn real;
  va_list ap;
  va_start(ap, req);
  pid_t pid = va_arg(ap, pid_t);
  void *addr = va_arg(ap, void *);
  void *data = va_arg(ap, void *);
  va_end(ap);
  if (!real) real = (ptrace_fn)dlsym(RTLD_NEXT, "ptrace");
  if ((req == PTRACE_GETREGSET || req == PTRACE_SETREGSET) && (long)addr == NT_X86_XSTATE) {
    struct iovec *part = data, all = { whole, sizeof whole };
    long r = real(PTRACE_GETREGSET, pid, addr, &all);
    if (r < 0 || part->iov_len >= all.iov_len) return real(req, pid, addr, data);
    if (req == PTRACE_GETREGSET) {
      memcpy(part->iov_base, whole, part->iov_len);
      return r;
    }
    memcpy(whole, part->iov_base, part->iov_len);
    return real(PTRACE_SETREGSET, pid, addr, &all);
  }
  return real(req, pid, addr, data);
}
