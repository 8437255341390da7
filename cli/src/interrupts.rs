//! Ctrl-C (SIGINT), SIGTERM and SIGHUP: the first asks the library to stop at its next
//! iteration (a checkpointed solve saves its state first), the second ends the process at once.
//! Either way nothing half-written is left: results are written atomically.

use std::sync::atomic::{AtomicBool, Ordering};

/// The exit code of an interrupted run (128 + SIGINT, as shells report it).
pub(crate) const EXIT_INTERRUPTED: i32 = 130;

static SIGNALLED: AtomicBool = AtomicBool::new(false);

/// Installs the handler (once per process; a failure leaves the default behaviour: the signal
/// ends the process, results stay intact).
pub(crate) fn install() {
    let _ = ctrlc::set_handler(|| {
        if SIGNALLED.swap(true, Ordering::SeqCst) {
            eprintln!("\ninterrupted again: stopping now, nothing written");
            std::process::exit(EXIT_INTERRUPTED);
        }
        eprintln!("\ninterrupting: stopping at the next iteration (again to stop at once)");
        cvxcnn::observe::request_interrupt();
    });
}

/// Whether a signal asked this run to stop.
pub(crate) fn requested() -> bool {
    SIGNALLED.load(Ordering::SeqCst) || cvxcnn::observe::interrupt_requested()
}
