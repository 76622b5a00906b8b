//! Stack commands: `start`, `status`, `logs`, `stop`, `restart`, `compose`, one file each with its
//! arguments; the work is in the `stack` library (`stack::start`, `up`, `down`, `health`).

pub mod compose;
pub mod logs;
pub mod restart;
pub mod start;
pub mod status;
pub mod stop;
