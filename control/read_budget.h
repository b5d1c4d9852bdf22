// A cap on the bytes one thread may read from sockets, for the admin
// listener's workers (control/admin_task_queue.h).
//
// Why: cpp-httplib (Debian's compiled 0.11.4) reads the request line and
// each header line into a string that grows until it sees a newline, and
// checks the length only afterwards; no option or public hook bounds it.
// One unauthenticated 100 MB header line took the daemon from 16 MB to
// 315 MB. Bodies are judged by AdminServer before they are read; this bounds
// what is read before any handler runs.
//
// How: read_budget.cpp defines recv() and read(), which httplib (recv) and
// OpenSSL's socket BIO (read) call through the PLT, so plain HTTP and TLS are
// both covered. On a thread with a budget they read at most what is left and
// fail with ECONNRESET once it is spent (httplib then drops the connection);
// on every other thread they are libc's own, after one thread-local load.
// That file includes no libc header that declares them (a _FORTIFY_SOURCE
// build would turn those declarations into inline definitions).
// Thread safety: a budget belongs to the thread that set it.
#pragma once

namespace switchyard::control {

// From now on this thread may read `bytes` in all; -1 lifts the limit.
void setReadBudget(long bytes);

}  // namespace switchyard::control
