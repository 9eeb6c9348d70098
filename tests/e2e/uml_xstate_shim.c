// LD_PRELOAD shim for /usr/bin/linux.uml (Debian's UML 6.1) on hosts whose XSAVE area is larger
// than the buffer UML keeps for a guest process's FPU state (uml_scenarios.uml_xstate_shim()
// builds it and points uml_peer at it).
//
// Why: UML saves and restores each guest process's registers with ptrace; the FPU/vector part
// goes through PTRACE_GETREGSET/PTRACE_SETREGSET NT_X86_XSTATE. The host kernel refuses a SET
// that is not exactly its whole XSAVE area (EFAULT). Seen on an Intel host with AMX: the area
// is 11008 bytes, UML passes less, and the guest dies at once ("userspace - ptrace set fp regs
// failed, errno = 14", then "Attempted to kill init"). Refusing the XSTATE regset so that UML
// falls back to FXSAVE (PTRACE_SETFPREGS) is no cure: guest programs then see corrupted vector
// registers (printf printed its format unformatted, python3 and insmod failed).
//
// What: a SET shorter than the whole area is completed with the target's current state beyond
// UML's part (read just before), then sent whole. UML keeps every byte it knows (x87, SSE, AVX
// and the XSAVE header); the rest stays as the host process has it. A SET of the whole size,
// and every other request, go to the real ptrace untouched.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

// The UML kernel makes its ptrace calls from one host thread; its kernel stacks are too small
// for an XSAVE area, hence a static buffer.
static unsigned char whole[1 << 16] __attribute__((aligned(64)));
static size_t whole_size;  // the host's XSAVE area, once seen

long ptrace(enum __ptrace_request req, ...) {
    va_list ap;
    va_start(ap, req);
    pid_t pid = va_arg(ap, pid_t);
    void* addr = va_arg(ap, void*);
    void* data = va_arg(ap, void*);
    va_end(ap);
    struct iovec* part = data;
    if (req == PTRACE_SETREGSET && (long)addr == NT_X86_XSTATE && (!whole_size || part->iov_len < whole_size)) {
        struct iovec all = {whole, sizeof whole};
        if (syscall(SYS_ptrace, PTRACE_GETREGSET, pid, addr, &all) < 0) return -1;
        whole_size = all.iov_len;
        if (part->iov_len < all.iov_len) {
            memcpy(whole, part->iov_base, part->iov_len);
            return syscall(SYS_ptrace, PTRACE_SETREGSET, pid, addr, &all);
        }
    }
    static long (*real)(enum __ptrace_request, pid_t, void*, void*);
    if (!real) real = (long (*)(enum __ptrace_request, pid_t, void*, void*))dlsym(RTLD_NEXT, "ptrace");
    return real(req, pid, addr, data);
}
