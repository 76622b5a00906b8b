//! Stack commands: `start`, `status`, `logs`, `stop`, `restart`, `compose`.

pub mod compose;
pub mod logs;
pub mod start;
pub mod status;
pub mod stop;

use crate::cli::StartArgs;
use crate::settings::stack::StackFlags;

pub fn flags_of(args: &StartArgs) -> StackFlags {
    StackFlags {
        image: args.image.clone(),
        postgres_image: args.postgres_image.clone(),
        port: args.port.clone(),
        management_port: args.management_port.clone(),
        bind: args.bind.clone(),
        cpus: args.cpus.clone(),
        memory: args.memory.clone(),
    }
}
