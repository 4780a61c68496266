//! What the benches share.

fn cpu_secs(clock: libc::clockid_t) -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for the call to write into.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// CPU time this thread has used (what "on one core" means on a machine shared with other
/// work, where wall time also counts the time the thread waited for a core).
#[allow(dead_code)] // not every bench uses it
pub fn thread_cpu_secs() -> f64 {
    cpu_secs(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// CPU time the whole process has used, all threads (for parallel work on a shared machine:
/// divided by the threads it ran on, what the wall time would be on idle cores).
#[allow(dead_code)] // not every bench uses it
pub fn process_cpu_secs() -> f64 {
    cpu_secs(libc::CLOCK_PROCESS_CPUTIME_ID)
}
