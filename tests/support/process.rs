//! The gateway as a separate operating-system process (`gateway serve`),
//! for the tests that kill it (SIGKILL) or run several processes on one
//! database. (Filled in by the crash and multi-process work of issue 9.)
